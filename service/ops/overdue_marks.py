"""What the overdue pass knows it posted: its Redis markers, and the hidden markers of the bot's own comments.

Each reminder, escalation and "no owner yet" note has a Redis marker (`keys.follow_up_reminded`), set right after
the comment; the comment carries a hidden marker too (`corrective.reminder_marker`, `corrective.named_marker`), read
back from GitLab before the next is posted, so a marker never written (the worker killed after the comment, or
GitLab wrote it but its answer was lost) or lost with Redis repeats nothing. The bot's username is asked once a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from redis import Redis

from ..corrective import FollowUp, named_marked, reminders_marked

if TYPE_CHECKING:
    from ..gitlab import GitLabClient
    from ..keys import Keys
    from ..queue import EventQueue
    from ..rules import RuleSet
    from ..store import Store

MARKER_SECONDS = 400 * 24 * 3600  # longer than any follow-up stays open; the index keeps the count beyond
NOTES_READ = 100  # the follow-up's newest comments read for a reminder's marker: one page of GitLab's
# What this release writes in a reminder's Redis marker after the time: the escalation into a confidential incident
# is its own step. The release before wrote the time alone, after posting the escalation with the reminder.
APART = "escalated-apart"


@dataclass(frozen=True)
class Context:
    """What a pass works with."""

    store: Store
    client: GitLabClient
    rules: RuleSet
    redis: Redis
    keys: Keys
    now: datetime
    deliveries: EventQueue | None = None  # where a follow-up's missed Issue Hook is queued for the tracking
    known: dict[str, str] = field(default_factory=dict)  # what the pass asked GitLab once (the bot's username)


def _key(ctx: Context, fu: FollowUp, kind: str, number: int) -> str:
    return ctx.keys.follow_up_reminded(fu.project_id, fu.iid, f"{kind}-{number}")


def once(ctx: Context, fu: FollowUp, kind: str, number: int) -> bool:
    """Whether note `number` of this kind is still to post (its Redis marker not set)."""
    return not ctx.redis.exists(_key(ctx, fu, kind, number))


def posted(ctx: Context, fu: FollowUp, kind: str, number: int) -> None:
    """Note `number` of this kind is posted: its Redis marker set (a reminder's says its escalation is apart)."""
    value = f"{ctx.now.isoformat()} {APART}" if kind == "overdue" else ctx.now.isoformat()
    ctx.redis.set(_key(ctx, fu, kind, number), value, ex=MARKER_SECONDS)


def bot(ctx: Context) -> str:
    """The bot's username, asked once a pass."""
    if "bot" not in ctx.known:
        ctx.known["bot"] = ctx.client.current_user().username
    return ctx.known["bot"]


def reminded_before(ctx: Context, fu: FollowUp) -> int:
    """The highest overdue reminder the bot's newest comments on the follow-up's issue mark (0: none): one page,
    newest first, read just before a reminder is posted."""
    me = bot(ctx)
    notes = islice(ctx.client.iter_notes(fu.project_id, fu.iid), NOTES_READ)
    return reminders_marked(note.body for note in notes if note.author == me and not note.system)


def named_before(ctx: Context, fu: FollowUp, where: tuple[int, int], kind: str) -> int:
    """The newest note of this `kind` (`corrective.named_marker`) naming this follow-up the bot's own comments there
    mark (0: none). Read only when a note is about to be posted (weekly): that count is kept in Redis, not in the
    index, so GitLab is asked."""
    me = bot(ctx)
    for note in ctx.client.iter_notes(*where):  # newest first: the first marked is the highest
        found = named_marked([note.body], kind, fu.project_id, fu.iid)
        if note.author == me and not note.system and found:
            return found
    return 0


def escalated_with_reminder(ctx: Context, fu: FollowUp, number: int) -> bool:
    """Whether reminder `number` was posted by the release before this one at `escalate_after_days` overdue: that
    release named the manager in the incident with the reminder, its note carrying no marker, and set the reminder's
    Redis marker to the time alone (this release adds `APART`). Without that marker (Redis lost) it is not known."""
    raw = ctx.redis.get(_key(ctx, fu, "overdue", number))
    text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
    try:
        then = datetime.fromisoformat(text)
    except ValueError:  # none, or this release's: the escalation is its own step
        return False
    late = fu.days_overdue(then.date())
    return late is not None and late >= ctx.rules.settings.followups.escalate_after_days
