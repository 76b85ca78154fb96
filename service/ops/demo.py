"""`incident-bot serve --demo`: a handful of realistic incidents in the local trial's index, to look around.

Written only to the trial's own index (`trial.sqlite3`), never to a real one: the board, the incident
pages, `report` and the handbook then show something within a minute of a first start. The people are
the rules' own rotation members (placeholders in the shipped rules), so nothing names a stranger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..rules import RuleSet
from ..store import EventKind, Observation, TimelineEvent, open_store

PROJECT_ID, PROJECT = 4242, "demo/shop"
BOT = "incident-bot"


@dataclass(frozen=True)
class Sample:
    """One demo incident: its story in a few numbers."""

    iid: int
    title: str
    severity: int
    category: str
    phase: str
    started_hours_ago: float
    resolved_hours_ago: float | None = None
    confidential: bool = False
    updates: int = 1


SAMPLES = (
    Sample(101, "Checkout returns 502 for a third of customers", 1, "availability", "mitigation", 1.5, updates=3),
    Sample(102, "Search latency p95 above 4 s since the deploy", 2, "performance", "identification", 0.6),
    Sample(103, "Leaked deploy token found in a public fork", 2, "security", "remediation", 20, confidential=True),
    Sample(104, "Nightly export skipped two tables", 3, "data-loss", "identification", 5, updates=0),
    Sample(105, "Status page showed stale component states", 4, "availability", "post-incident", 72, 60, updates=2),
    Sample(106, "Payment webhooks delayed by 20 minutes", 2, "availability", "post-incident", 240, 236, updates=4),
)


def _person(rules: RuleSet, role: str, at: datetime) -> str | None:
    found = rules.roles.get(role)
    rotation = rules.rotations.get(found.rotation) if found else None
    return rotation.on_call(at) if rotation else None


def observation(sample: Sample, rules: RuleSet, now: datetime) -> Observation:
    """The incident as the worker would have recorded it: declared, staffed, updated, maybe closed."""
    start = now - timedelta(hours=sample.started_hours_ago)
    events = [
        TimelineEvent(start, EventKind.INCIDENT, "", "", "added", "reporter"),
        TimelineEvent(start, EventKind.SEVERITY, "", "", str(sample.severity), BOT, None, True),
        TimelineEvent(start, EventKind.CATEGORY, "", "", sample.category, BOT, None, True),
        TimelineEvent(start, EventKind.PHASE, "", "", "identification", BOT, None, True),
    ]
    roles = {}
    wanted = {
        "eoc": True,
        "incident-manager": sample.severity <= 2,
        "cmoc": sample.severity == 1,
        "sirt": sample.category == "security",
    }
    for role in (r for r, needed in wanted.items() if needed):
        person = _person(rules, role, start)
        if person:
            roles[role] = person
            staffed = start + timedelta(minutes=2)
            events.append(TimelineEvent(staffed, EventKind.ROLE, role, "", person, BOT, None, True))
    phases = [p.name for p in rules.phases]
    reached = phases[: phases.index(sample.phase) + 1] if sample.phase in phases else ["identification"]
    end = now - timedelta(hours=sample.resolved_hours_ago) if sample.resolved_hours_ago is not None else now
    step = (end - start) / (len(reached) + 1)
    for i, (before, phase) in enumerate(zip(reached, reached[1:], strict=False), start=1):
        events.append(TimelineEvent(start + step * i, EventKind.PHASE, "", before, phase, roles.get("eoc", BOT)))
    for n in range(sample.updates):
        at = start + (end - start) * (n + 1) / (sample.updates + 1)
        events.append(TimelineEvent(at, EventKind.STATUS_UPDATE, "", "", "", roles.get("incident-manager", BOT)))
    if sample.resolved_hours_ago is not None:
        events.append(TimelineEvent(end, EventKind.STATE, "", "", "closed", roles.get("eoc", BOT)))
    return Observation(
        project_id=PROJECT_ID,
        project_path=PROJECT,
        iid=sample.iid,
        title=sample.title,
        description="A demo incident of the local trial (`incident-bot serve --demo`).",
        url=f"https://gitlab.example.com/{PROJECT}/-/issues/{sample.iid}",
        confidential=sample.confidential,
        issue_type="incident",
        category=sample.category,
        severity=sample.severity,
        phase=sample.phase,
        state="closed" if sample.resolved_hours_ago is not None else "opened",
        author="reporter",
        created_at=start,
        roles=roles,
        observed_at=now,
        events=tuple(events),
    )


def seed(index_url: str, rules: RuleSet, now: datetime | None = None) -> int:
    """Write the demo incidents to the index at `index_url`; 0 when they are there already (a second start)."""
    import sqlalchemy as sa  # the demo's only SQL: are its incidents there already?

    from ..store.observe import vocabulary  # the store's words for these rules, as the worker's
    from ..store.schema import incidents

    now = now or datetime.now(UTC).replace(microsecond=0)
    store = open_store(index_url, vocab=vocabulary(rules, BOT))
    try:
        with store.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(incidents).where(incidents.c.project_id == PROJECT_ID)
            if conn.execute(query).scalar():
                return 0
        for sample in SAMPLES:
            store.record(observation(sample, rules, now))
    finally:
        store.engine.dispose()
    return len(SAMPLES)
