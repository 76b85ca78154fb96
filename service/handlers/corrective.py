"""Follow-ups (corrective actions) in planning: the `follow-up` command, and an Issue Hook of a follow-up's issue.

`@bot follow-up <title> [@owner] [due YYYY-MM-DD]` plans an `OpenFollowUp`, `@bot follow-up #123` (or
`group/project#123`) an `AdoptFollowUp`; in an incident, or in its review issue (the executor finds the
incident through the review's links). The reply names the issue, so the executor writes it once the issue
exists. An Issue Hook of an issue that is no incident but carries (or just lost) the follow-up label plans
a `TrackFollowUp`. Pure: nothing here reads GitLab or the index.
"""

from __future__ import annotations

import re

from ..corrective import due_date, reference
from ..events import Event
from ..incident import IncidentState
from ..plan import AdoptFollowUp, After, OpenFollowUp, Plan, TrackFollowUp
from ..rules import RuleSet
from ..text import is_username, neutralise_line, plain
from .draft import Draft

RULE = "command:follow-up"
TRACK_RULE = "follow-up-tracking"
MAX_TITLE = 255  # GitLab's limit is 255 characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def usage(bot: str) -> str:
    return (
        f"Usage: `@{bot} follow-up <title> [@owner] [due YYYY-MM-DD]` opens a follow-up issue; "
        f"`@{bot} follow-up #123` (or `group/project#123`) makes an existing issue one."
    )


def clean_title(text: str) -> str:
    """A title as GitLab keeps it: one line, no control characters, at most MAX_TITLE characters; and as the bot
    writes it, neutralised as plain text (`text.plain`: no mention, reference, link or quick action is live)."""
    return " ".join(plain(_CONTROL.sub(" ", text)).split())[:MAX_TITLE].rstrip()


def parse(rest: str) -> tuple[str, str | None, str | None]:
    """(title, owner, due) from the command's text: `due YYYY-MM-DD` last, `@owner` before it; raw, unchecked."""
    words = rest.split()
    due = None
    if len(words) >= 2 and words[-2].lower() == "due":
        due, words = words[-1], words[:-2]
    owner = None
    if words and words[-1].startswith("@") and len(words) > 1:
        owner, words = words[-1][1:], words[:-1]
    return " ".join(words), owner, due


def follow_up_command(d: Draft, rest: str) -> str:
    """Plan the follow-up (or say what is wrong); the executor replies once the issue is opened or adopted."""
    from_review = not d.event.is_incident
    words = rest.split()
    if len(words) == 1 and (ref := reference(words[0])) is not None:
        d.follow_up(AdoptFollowUp(RULE, ref.path, ref.iid, from_review=from_review))
        return ""
    title, owner, due = parse(rest)
    title = clean_title(title)
    if not title:
        return usage(d.bot)
    if owner is not None and not is_username(owner):
        return f"{usage(d.bot)} ({neutralise_line('@' + owner)} is not a GitLab username.)"
    due_on = due_date(due) if due is not None else None
    if due is not None and due_on is None:
        return f"`due` takes a date such as `2026-12-31`, not {neutralise_line(due)}. {usage(d.bot)}"
    severity = d.severity() if d.event.is_incident else None
    d.follow_up(OpenFollowUp(RULE, title, owner, due_on, severity, from_review=from_review))
    return ""


def track_follow_up(event: Event, rules: RuleSet, state: IncidentState) -> Plan:
    """An Issue Hook of an issue that is no incident: tracked when it carries, or just lost, the follow-up label.

    Tracking reads the issue afresh and writes the index only: the issue is left as it is (`Plan.after`)."""
    label = rules.settings.followups.label
    if label in event.labels:
        return Plan((TrackFollowUp(TRACK_RULE),), after=After.unchanged(state))
    if label in event.labels_removed:
        return Plan((TrackFollowUp(TRACK_RULE, dropped=True),), after=After.unchanged(state))
    return Plan()
