"""The "cause confirmed" and "cause cleared" timeline events (issue 19), and the marker that keeps them in GitLab.

`cause <ref>` recorded by the worker (`worker/causes.py`) adds the event to the incident's timeline in the index,
and the bot's confirmation carries a hidden marker with the same facts, so `reindex` reads the same event back
from the bot's comment (`store/history.py`), as it does the "alerts resolved" one. A confirmation's marker also
carries the change as `store.causes.record_cause` wrote it (its kind, project, and deployment id, merge request
iid or flag name), so reindex writes the incident's cause again through the same writer; a marker from before it
did gives the event only. Only the bot's own comments are read for markers; every value in one is
percent-encoded, so no reference or name can end the HTML comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from .model import Cause, CauseKind, EventKind, MarkedCause, TimelineEvent

CONFIRMED, CLEARED = "confirmed", "cleared"
_ENCODED = r"[A-Za-z0-9_.~%-]"
_KINDS = "|".join(kind.value for kind in CauseKind)
_MARK = re.compile(
    rf"<!-- incident-bot:cause ({CONFIRMED}|{CLEARED}) ([0-9]{{1,12}}) "
    rf"({_ENCODED}{{0,1024}}) ({_ENCODED}{{0,3072}})(?: ({_KINDS}) ([0-9]{{1,19}}) ({_ENCODED}{{1,765}}))? -->"
)
REF_CHARS = 1024  # the `value_to` column
ACTOR_CHARS = 255  # the `actor` column
MAX_ID, MAX_IID = 2**63 - 1, 2**31 - 1  # the index's BigInteger and Integer columns
LAST_STAMP = 253_402_300_799  # 9999-12-31 23:59:59 UTC, the last second a datetime holds


def cause_event(at: datetime, ref: str | None, by: str) -> TimelineEvent:
    """The event: `ref` confirmed as the cause (None: the cause cleared) by `by`, at `at` (to the second)."""
    when = datetime.fromtimestamp(int(at.timestamp()), UTC)
    name = CONFIRMED if ref is not None else CLEARED
    return TimelineEvent(when, EventKind.CAUSE, name, "", (ref or "")[:REF_CHARS], by[:ACTOR_CHARS], None, False)


def marker(event: TimelineEvent, cause: Cause | None = None) -> str:
    """The hidden marker of the bot's confirmation, which `cause_events` and `marked_causes` read back: the event,
    and for a confirmation the change `record_cause` wrote (`cause`)."""
    stamp = int(event.at.timestamp())
    by, ref = quote(event.actor, safe=""), quote(event.value_to, safe="")
    change = f" {_change(cause)}" if cause is not None and event.name == CONFIRMED else ""
    return f"<!-- incident-bot:cause {event.name} {stamp} {by} {ref}{change} -->"


def _change(cause: Cause) -> str:
    number = cause.deployment_id if cause.kind is CauseKind.DEPLOYMENT else cause.merge_request_iid
    value = quote(cause.flag_name or "", safe="") if cause.kind is CauseKind.FEATURE_FLAG else str(number)
    return f"{cause.kind.value} {cause.cause_project_id} {value}"


def cause_events(body: str) -> list[TimelineEvent]:
    """The cause events a bot comment records (its markers)."""
    return [event for event, _ in _marks(body)]


def marked_causes(body: str, project_id: int, iid: int) -> list[MarkedCause | None]:
    """What each marker of a bot comment on incident `project_id`#`iid` says of its cause, in order: the cause
    recorded, or cleared; None for a confirmation whose marker carries no change (written before markers did)."""
    found: list[MarkedCause | None] = []
    for event, (kind, project, value) in _marks(body):
        if event.name == CLEARED:
            found.append(MarkedCause(event.at, None))
            continue
        cause = _cause(project_id, iid, kind, project, unquote(value), event.actor) if kind else None
        found.append(MarkedCause(event.at, cause) if cause is not None else None)
    return found


def _marks(body: str) -> Iterator[tuple[TimelineEvent, tuple[str, str, str]]]:
    """Each marker's event and the change it carries (kind, project, value; empty in a marker without one)."""
    for name, stamp, by, ref, kind, project, value in _MARK.findall(body):
        if int(stamp) > LAST_STAMP:
            continue  # no date: not a marker the bot wrote
        at = datetime.fromtimestamp(int(stamp), UTC)
        yield cause_event(at, unquote(ref) if name == CONFIRMED else None, unquote(by)), (kind, project, value)


def _cause(project_id: int, iid: int, kind: str, project: str, value: str, by: str) -> Cause | None:
    """The change a marker names, as `record_cause` takes it; None when a number is out of the index's range."""
    cause_project = int(project)
    if not 1 <= cause_project <= MAX_ID:
        return None
    if kind == CauseKind.FEATURE_FLAG:
        return Cause(project_id, iid, CauseKind.FEATURE_FLAG, cause_project, flag_name=value[:255], recorded_by=by)
    number = int(value) if value.isascii() and value.isdigit() else 0
    if not 1 <= number <= (MAX_IID if kind == CauseKind.MERGE_REQUEST else MAX_ID):
        return None
    if kind == CauseKind.DEPLOYMENT:
        return Cause(project_id, iid, CauseKind.DEPLOYMENT, cause_project, deployment_id=number, recorded_by=by)
    return Cause(project_id, iid, CauseKind.MERGE_REQUEST, cause_project, merge_request_iid=number, recorded_by=by)
