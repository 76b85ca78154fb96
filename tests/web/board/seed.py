"""Incidents for the board's tests and benchmark, written to the index as the worker would record them."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.store import EventKind, Observation, Store, TimelineEvent

GROUP = "acme/ops"


def incident(
    iid: int,
    title: str,
    *,
    now: datetime,
    started_minutes_ago: float,
    severity: int = 3,
    phase: str = "identification",
    confidential: bool = False,
    resolved_minutes_ago: float | None = None,
    last_update_minutes_ago: float | None = None,
    roles: dict[str, str] | None = None,
    description: str = "",
    category: str | None = "availability",
    project_id: int = 42,
    project_path: str = GROUP,
) -> Observation:
    """One incident with a plausible timeline: declared, severity and phase set, updates, staffed, maybe closed."""
    start = now - timedelta(minutes=started_minutes_ago)
    events = [
        TimelineEvent(start, EventKind.INCIDENT, "", "", "added", "reporter", 7),
        TimelineEvent(start, EventKind.SEVERITY, "", "", str(severity), "incident-bot", None, True),
        TimelineEvent(start, EventKind.PHASE, "", "", "identification", "incident-bot", None, True),
    ]
    for role, who in (roles or {}).items():
        events.append(
            TimelineEvent(start + timedelta(minutes=1), EventKind.ROLE, role, "", who, "incident-bot", None, True)
        )
    if phase != "identification":
        at = start + timedelta(minutes=min(5, started_minutes_ago / 2))
        events.append(TimelineEvent(at, EventKind.PHASE, "", "identification", phase, "im-alice", 11))
    if last_update_minutes_ago is not None:
        at = now - timedelta(minutes=last_update_minutes_ago)
        events.append(TimelineEvent(at, EventKind.STATUS_UPDATE, "", "", "", "cmoc-erin", 12))
    state = "opened"
    if resolved_minutes_ago is not None:
        at = now - timedelta(minutes=resolved_minutes_ago)
        events.append(TimelineEvent(at, EventKind.STATE, "", "", "closed", "im-alice", 11))
        state = "closed"
    return Observation(
        project_id=project_id,
        project_path=project_path,
        iid=iid,
        title=title,
        description=description,
        url=f"https://gitlab.example.com/{project_path}/-/issues/{iid}",
        confidential=confidential,
        category=category,
        severity=severity,
        phase=phase,
        state=state,
        author="reporter",
        author_id=7,
        created_at=start,
        roles=dict(roles or {}),
        observed_at=now,
        events=tuple(events),
    )


def record(store: Store, *observations: Observation) -> None:
    """Write observations as deliveries would."""
    for obs in observations:
        store.record(obs)
