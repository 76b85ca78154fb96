"""The "cause confirmed" and "cause cleared" timeline events (issue 19), and the marker that keeps them in GitLab.

`cause <ref>` recorded by the worker (`worker/causes.py`) adds the event to the incident's timeline in the index,
and the bot's confirmation carries a hidden marker with the same facts, so `reindex` reads the same event back
from the bot's comment (`store/history.py`), as it does the "alerts resolved" one. Only the bot's own comments are
read for markers; every value in one is percent-encoded, so no reference or name can end the HTML comment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from .model import EventKind, TimelineEvent

CONFIRMED, CLEARED = "confirmed", "cleared"
_ENCODED = r"[A-Za-z0-9_.~%-]"
_MARK = re.compile(
    rf"<!-- incident-bot:cause ({CONFIRMED}|{CLEARED}) ([0-9]{{1,12}}) "
    rf"({_ENCODED}{{0,1024}}) ({_ENCODED}{{0,3072}}) -->"
)
REF_CHARS = 1024  # the `value_to` column
ACTOR_CHARS = 255  # the `actor` column


def cause_event(at: datetime, ref: str | None, by: str) -> TimelineEvent:
    """The event: `ref` confirmed as the cause (None: the cause cleared) by `by`, at `at` (to the second)."""
    when = datetime.fromtimestamp(int(at.timestamp()), UTC)
    name = CONFIRMED if ref is not None else CLEARED
    return TimelineEvent(when, EventKind.CAUSE, name, "", (ref or "")[:REF_CHARS], by[:ACTOR_CHARS], None, False)


def marker(event: TimelineEvent) -> str:
    """The hidden marker of the bot's confirmation, which `cause_events` reads back."""
    stamp = int(event.at.timestamp())
    by, ref = quote(event.actor, safe=""), quote(event.value_to, safe="")
    return f"<!-- incident-bot:cause {event.name} {stamp} {by} {ref} -->"


def cause_events(body: str) -> list[TimelineEvent]:
    """The cause events a bot comment records (its markers)."""
    found = []
    for name, stamp, by, ref in _MARK.findall(body):
        at = datetime.fromtimestamp(int(stamp), UTC)
        found.append(cause_event(at, unquote(ref) if name == CONFIRMED else None, unquote(by)))
    return found
