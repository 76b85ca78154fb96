"""The board's reads from the incident index (one query each; a page view never calls GitLab)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa

from service import bounds
from service.store import IncidentRow, Store
from service.store.checklists import progress
from service.store.followups import Pending, Sent, pending, sent
from service.store.model import ALERT_MARK, EventKind, Progress, utc
from service.store.schema import incidents, timeline_events

RECENT_DAYS = 7
MAX_RECENT = 50
MAX_RESULTS = 100
MAX_QUERY = 200  # characters of a search
MAX_IID = bounds.MAX_IID  # incidents.iid is an INTEGER
MAX_PROJECT_ID = bounds.MAX_ID  # incidents.project_id is a BIGINT


class BoardRow(NamedTuple):
    """The columns a board row shows (fewer than IncidentRow: one scan of the index serves the page)."""

    id: int
    project_id: int
    project_path: str
    iid: int
    title: str
    url: str
    confidential: bool
    drill: bool
    category: str | None
    area: str | None
    severity: int | None
    phase: str | None
    state: str
    roles: dict[str, str]
    created_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    last_status_update_at: datetime | None
    from_alert: bool = False  # opened from an alert group (store.model.ALERT_MARK in its description)


_BOARD_COLUMNS = [incidents.c[name] for name in BoardRow._fields if name != "from_alert"] + [
    incidents.c.description.contains(ALERT_MARK, autoescape=True).label("from_alert")
]
_TIMES = [i for i, name in enumerate(BoardRow._fields) if name.endswith("_at")]
_ROLES = BoardRow._fields.index("roles")


def _board_row(row: Any) -> BoardRow:
    values = list(row)
    for i in _TIMES:
        values[i] = utc(values[i])
    values[_ROLES] = dict(values[_ROLES] or {})
    values[-1] = bool(values[-1])
    return BoardRow(*values)


def board(store: Store, now: datetime, days: int = RECENT_DAYS) -> tuple[list[BoardRow], list[BoardRow]]:
    """In one query: the active incidents (most severe first, then the oldest) and those resolved in `days`.

    Active: not resolved and the issue open. Resolved recently: the latest first, at most MAX_RECENT.
    """
    c = incidents.c
    since = utc(now - timedelta(days=days))
    query = (
        sa.select(*_BOARD_COLUMNS)
        .where(sa.or_(sa.and_(c.resolved_at.is_(None), c.state == "opened"), c.resolved_at >= since))
        .order_by(sa.case((c.severity.is_(None), 1), else_=0), c.severity, c.started_at, c.project_id, c.iid)
    )
    with store.engine.connect() as conn:
        rows = [_board_row(r) for r in conn.execute(query)]
    active = [r for r in rows if r.resolved_at is None and r.state == "opened"]
    recent = [r for r in rows if r.resolved_at is not None]
    recent.sort(key=lambda r: (r.resolved_at, -r.project_id, -r.iid), reverse=True)
    return active, recent[:MAX_RECENT]


def paged_unacknowledged(store: Store, ids: Sequence[int]) -> set[int]:
    """The incidents (by index id) with a page nobody acknowledged: a `page` event whose page has no `page_ack`."""
    if not ids:
        return set()
    t, a = timeline_events.c, timeline_events.alias("acks").c
    acked = sa.exists().where(a.incident_id == t.incident_id, a.name == t.name, a.kind == str(EventKind.PAGE_ACK))
    query = (
        sa.select(t.incident_id).where(t.incident_id.in_(list(ids)), t.kind == str(EventKind.PAGE), ~acked).distinct()
    )
    with store.engine.connect() as conn:
        return {int(i) for (i,) in conn.execute(query)}


def phase_entered(store: Store, ids: Sequence[int]) -> dict[int, datetime]:
    """When each incident (by index id) last changed phase."""
    if not ids:
        return {}
    t = timeline_events.c
    query = (
        sa.select(t.incident_id, sa.func.max(t.at))
        .where(t.incident_id.in_(list(ids)), t.kind == str(EventKind.PHASE))
        .group_by(t.incident_id)
    )
    with store.engine.connect() as conn:
        return {int(i): at for i, raw in conn.execute(query) if (at := utc(raw)) is not None}


def find(store: Store, project: str, iid: int) -> IncidentRow | None:
    """One incident by project path (or numeric id) and iid; None beyond the columns' range (no such incident)."""
    c = incidents.c
    try:
        project = bounds.project(project.strip("/"))
    except bounds.OutOfBounds:
        return None  # the database would refuse the number; no path has those characters
    if not 0 < iid <= MAX_IID:
        return None
    which = c.project_id == int(project) if project.isdigit() else c.project_path == project
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(incidents).where(which, c.iid == iid).limit(1)).one_or_none()
    return IncidentRow.from_row(row) if row is not None else None


class IncidentFollowUps(NamedTuple):
    """What the incident page shows beside the timeline: notifications, the reminder pending, checklists."""

    notified: list[Sent]
    reminder: Pending | None
    checklists: list[Progress]


def follow_ups(store: Store, row: IncidentRow, phases: Sequence[str]) -> IncidentFollowUps:
    """The notifications sent about an incident (each attempt, oldest first), its next reminder, its checklists."""
    # A notification names its project by path, or by id when the delivery had no path.
    names = [name for name in (row.project_path, str(row.project_id)) if name]
    order = {name: i for i, name in enumerate(phases)}  # checklists in the rules' phase order
    ticks = sorted(progress(store.engine, row.id), key=lambda p: (order.get(p.phase, len(order)), p.phase))
    return IncidentFollowUps(sent(store.engine, names, row.iid), pending(store.engine, row.project_id, row.iid), ticks)


def search(
    store: Store,
    *,
    text: str,
    severity: int | None,
    since: datetime | None,
    visible: frozenset[tuple[int, int]],
) -> list[IncidentRow]:
    """Incidents whose title or description contains `text` (case-insensitive), newest start first.

    The text of a confidential incident is searched only when the viewer may see it
    (`visible`), so a search cannot reveal what its page would redact.
    """
    c = incidents.c
    conditions: list[Any] = []
    words = text.split()[:10]
    if words:
        readable: Any = c.confidential == sa.false()
        if visible:
            readable = sa.or_(readable, sa.tuple_(c.project_id, c.iid).in_(sorted(visible)))
        for word in words:
            pattern = "%" + _escape_like(word.lower()) + "%"
            conditions.append(
                sa.or_(
                    sa.func.lower(c.title).like(pattern, escape="\\"),
                    sa.func.lower(c.description).like(pattern, escape="\\"),
                )
            )
        conditions.append(readable)
    if severity is not None:
        conditions.append(c.highest_severity == severity)
    if since is not None:
        conditions.append(c.started_at >= utc(since))
    query = (
        sa.select(incidents).where(*conditions).order_by(c.started_at.desc(), c.project_id, c.iid).limit(MAX_RESULTS)
    )
    with store.engine.connect() as conn:
        return [IncidentRow.from_row(r) for r in conn.execute(query)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def confidential_among(store: Store, visible: frozenset[tuple[int, int]], limit: int = 150) -> list[tuple[int, int]]:
    """The index's confidential incidents among `visible`, the latest started first, at most `limit`."""
    if not visible:
        return []
    c = incidents.c
    query = sa.select(c.project_id, c.iid).where(c.confidential == sa.true()).order_by(c.started_at.desc())
    with store.engine.connect() as conn:
        known = [(int(p), int(i)) for p, i in conn.execute(query)]
    return [key for key in known if key in visible][:limit]
