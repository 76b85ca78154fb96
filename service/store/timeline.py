"""The one place that turns labels and timeline events into the documented times.

Both the worker's incremental path and `reindex` produce timeline events with
`label_events` and derive an incident's times with `derive`, so the two paths
cannot disagree about what "acknowledged" means. Definitions (README, "Incident
index and reports"):

- start: `created_at` if the issue carried the incident label (or type Incident)
  from creation, else the first time the incident label was added;
- acknowledged: the first non-system comment by a person other than the issue's
  author and the bot, a person (not the bot) setting a phase of mitigation or later,
  or a page acknowledged (`@bot ack` or the page's link, rules/paging.yml);
- mitigated: the first time it entered remediation or post-incident, or was closed;
- resolved: the last time it was closed or entered post-incident with no reopening
  after; open incidents are unresolved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.events import is_incident

from .model import EventKind, TimelineEvent
from .vocabulary import MITIGATION, POST_INCIDENT, REMEDIATION, Vocabulary

# GitLab writes the label events of a new issue in the same request, a moment after `created_at`.
CREATION_SLACK = timedelta(seconds=5)
ACK_COMMENTS = (EventKind.COMMENT, EventKind.STATUS_UPDATE)


@dataclass(frozen=True)
class Milestones:
    """The derived times of one incident (None: not reached)."""

    start: datetime | None
    acknowledged: datetime | None
    mitigated: datetime | None
    resolved: datetime | None
    highest_severity: int | None
    last_status_update: datetime | None


def _level(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def label_events(
    before: Iterable[str],
    after: Iterable[str],
    at: datetime,
    vocab: Vocabulary,
    *,
    actor: str,
    actor_id: int | None,
) -> list[TimelineEvent]:
    """The timeline events of one label edit (one person's or the bot's step), read through the vocabulary."""
    old, new = set(before), set(after)
    if old == new:
        return []
    by_bot = actor == vocab.bot_username
    actor_id = None if by_bot else actor_id  # the worker does not know the bot's own id; reindex does
    events: list[TimelineEvent] = []

    def add(kind: EventKind, was: object, now: object, name: str = "") -> None:
        was_s, now_s = "" if was is None else str(was), "" if now is None else str(now)
        if was_s != now_s:
            events.append(TimelineEvent(at, kind, name, was_s, now_s, actor, actor_id, by_bot))

    incident = vocab.incident_label
    if (incident in old) != (incident in new):
        add(EventKind.INCIDENT, "", "added" if incident in new else "removed")
    add(EventKind.SEVERITY, vocab.severity(old), vocab.severity(new))
    add(EventKind.PHASE, vocab.phase(old), vocab.phase(new))
    add(EventKind.CATEGORY, vocab.category(old), vocab.category(new))
    return events


def derive(
    events: Iterable[TimelineEvent],
    vocab: Vocabulary,
    *,
    created_at: datetime | None,
    issue_type: str,
    author_id: int | None,
    author: str | None,
    severity_now: int | None,
    open_now: bool = False,
) -> Milestones:
    """The documented times of an incident from its timeline events (in any order)."""
    ordered = sorted(events, key=lambda e: (e.at, e.key()))
    start = _start(ordered, created_at, issue_type)
    phases = vocab.phase_names()
    acknowledging = set(phases[phases.index(MITIGATION) :]) if MITIGATION in phases else set()
    acknowledged = mitigated = resolved = last_update = None
    levels = [severity_now] if severity_now is not None else []
    for e in ordered:
        if e.kind is EventKind.SEVERITY:
            levels += [lvl for lvl in (_level(e.value_to),) if lvl is not None]
        if e.kind is EventKind.STATUS_UPDATE:
            last_update = e.at
        # Times before the issue became an incident do not count toward it.
        if start is None or e.at < start:
            continue
        if acknowledged is None and _acknowledges(e, author_id, author, acknowledging):
            acknowledged = e.at
        entered = e.value_to if e.kind is EventKind.PHASE else None
        closed = e.kind is EventKind.STATE and e.value_to == "closed"
        if mitigated is None and (closed or entered in (REMEDIATION, POST_INCIDENT)):
            mitigated = e.at
        if closed or entered == POST_INCIDENT:
            resolved = e.at
        elif (e.kind is EventKind.STATE and e.value_to == "reopened") or (
            e.kind is EventKind.PHASE and e.value_from == POST_INCIDENT
        ):
            resolved = None
    if open_now:
        resolved = None  # open incidents are unresolved, whatever a lost event might suggest
    return Milestones(start, acknowledged, mitigated, resolved, min(levels) if levels else None, last_update)


def _start(ordered: list[TimelineEvent], created_at: datetime | None, issue_type: str) -> datetime | None:
    added = next((e.at for e in ordered if e.kind is EventKind.INCIDENT and e.value_to == "added"), None)
    if created_at is not None and (
        is_incident(issue_type, labels=()) or added is None or added <= created_at + CREATION_SLACK
    ):
        return created_at
    return added if added is not None else (ordered[0].at if ordered else None)


def _acknowledges(e: TimelineEvent, author_id: int | None, author: str | None, phases: set[str]) -> bool:
    if e.kind is EventKind.PAGE_ACK:
        return True  # whoever was paged, even the issue's author: acknowledging the page is the acknowledgement
    if e.by_bot:
        return False
    if e.kind in ACK_COMMENTS:
        if author_id is not None and e.actor_id is not None:
            return e.actor_id != author_id
        return not author or e.actor != author
    return e.kind is EventKind.PHASE and e.value_to in phases
