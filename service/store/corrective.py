"""Follow-ups (corrective actions) in the index: written from their GitLab issues, read by the bot, reports and pages.

A row is what the follow-up's issue said when last read, with GitLab's `updated_at` as its version: an
older reading (a delivery that waited behind a newer one) never overwrites a newer one, and a reading that
changes nothing writes nothing, so a redelivered or reordered event changes nothing twice. `reminded`
(the overdue reminders posted) is the bot's own and survives every reading. Like the rest of the index it
is derived: `reindex` reads the follow-ups back from each incident's linked issues, and `reminded` from the
markers of the bot's reminders on each follow-up's issue (`reindex_followups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..corrective import FollowUp, FollowUpIssue
from .model import utc
from .schema import follow_ups, incidents

_FACTS = ("project_path", "title", "url", "confidential", "owner", "due_on", "state", "opened_at", "closed_at")


class IncidentFacts(NamedTuple):
    """What reports and the memory need of a follow-up's incident (None when the index does not hold it)."""

    severity: int | None
    category: str | None
    area: str | None
    roles: dict[str, str]
    title: str
    url: str
    confidential: bool
    review_url: str | None
    project_path: str = ""


def _follow_up(row: Any) -> FollowUp:
    due = row.due_on
    return FollowUp(
        incident_project_id=row.incident_project_id,
        incident_iid=row.incident_iid,
        project_id=row.project_id,
        iid=row.iid,
        project_path=row.project_path,
        title=row.title,
        url=row.url,
        confidential=bool(row.confidential),
        owner=row.owner,
        due_on=due.date() if isinstance(due, datetime) else due,
        state=row.state,
        opened_at=utc(row.opened_at),
        closed_at=utc(row.closed_at),
        reminded=row.reminded,
    )


def _values(incident: tuple[int, int], issue: FollowUpIssue, now: datetime) -> dict[str, Any]:
    return {
        "incident_project_id": incident[0],
        "incident_iid": incident[1],
        "project_id": issue.project_id,
        "iid": issue.iid,
        "project_path": issue.project_path,
        "title": issue.title,
        "url": issue.url,
        "confidential": issue.confidential,
        "owner": issue.owner,
        "due_on": issue.due_on,
        "state": issue.state,
        "opened_at": utc(issue.opened_at or now),
        "closed_at": utc(issue.closed_at) if issue.state == "closed" else None,
        "updated_at": utc(issue.updated_at or now),
    }


def record(engine: Engine, incident: tuple[int, int], issue: FollowUpIssue, now: datetime) -> bool:
    """Keep what the follow-up's issue says now; True when the index changed (an older reading changes nothing)."""
    values = _values(incident, issue, now)
    key = (follow_ups.c.project_id == issue.project_id, follow_ups.c.iid == issue.iid)
    for _ in range(2):  # a concurrent first insert of the same issue: the second try updates it
        try:
            with engine.begin() as conn:
                known = conn.execute(sa.select(follow_ups).where(*key)).one_or_none()
                if known is None:
                    conn.execute(follow_ups.insert().values(**values))
                    return True
                if utc(known.updated_at) > values["updated_at"]:
                    return False
                before = _follow_up(known)
                after = (values["incident_project_id"], values["incident_iid"], *(values[f] for f in _FACTS))
                was = (before.incident_project_id, before.incident_iid, *(getattr(before, f) for f in _FACTS))
                if after == was:
                    return False
                conn.execute(follow_ups.update().where(*key).values(**values))
                return True
        except sa.exc.IntegrityError:
            continue
    return False


def forget(engine: Engine, project_id: int, iid: int) -> FollowUp | None:
    """The issue is no follow-up any more (its label removed): drop it; the row it had, if any."""
    with engine.begin() as conn:
        known = conn.execute(
            sa.select(follow_ups).where(follow_ups.c.project_id == project_id, follow_ups.c.iid == iid)
        ).one_or_none()
        if known is not None:
            conn.execute(follow_ups.delete().where(follow_ups.c.id == known.id))
    return _follow_up(known) if known is not None else None


def find(engine: Engine, project_id: int, iid: int) -> FollowUp | None:
    """The follow-up kept for this issue, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(follow_ups).where(follow_ups.c.project_id == project_id, follow_ups.c.iid == iid)
        ).one_or_none()
    return _follow_up(row) if row is not None else None


def of_incident(engine: Engine, project_id: int, iid: int) -> list[FollowUp]:
    """An incident's follow-ups, in the order they were opened."""
    query = (
        sa.select(follow_ups)
        .where(follow_ups.c.incident_project_id == project_id, follow_ups.c.incident_iid == iid)
        .order_by(follow_ups.c.opened_at, follow_ups.c.project_id, follow_ups.c.iid)
    )
    with engine.connect() as conn:
        return [_follow_up(row) for row in conn.execute(query)]


def with_incidents(
    engine: Engine, *, open_only: bool = False, project: str | None = None, group: str | None = None
) -> list[tuple[FollowUp, IncidentFacts | None]]:
    """Every follow-up (or every open one) with its incident's facts, oldest first.

    `project` (an id or a path) and `group` (a path: its projects and its subgroups') scope them by their
    incident's project, as every report's `--project`/`--group` does; a path needs the incident in the index.
    """
    joined = follow_ups.outerjoin(
        incidents,
        sa.and_(
            incidents.c.project_id == follow_ups.c.incident_project_id, incidents.c.iid == follow_ups.c.incident_iid
        ),
    )
    columns = [
        incidents.c.highest_severity.label("i_severity"),
        incidents.c.category.label("i_category"),
        incidents.c.area.label("i_area"),
        incidents.c.roles.label("i_roles"),
        incidents.c.title.label("i_title"),
        incidents.c.url.label("i_url"),
        incidents.c.confidential.label("i_confidential"),
        incidents.c.review_url.label("i_review_url"),
        incidents.c.id.label("i_id"),
        incidents.c.project_path.label("i_project_path"),
    ]
    query = sa.select(follow_ups, *columns).select_from(joined)
    if open_only:
        query = query.where(follow_ups.c.state == "opened")
    if project and project.isdigit():
        query = query.where(follow_ups.c.incident_project_id == int(project))
    elif project:
        query = query.where(incidents.c.project_path == project.strip("/"))
    if group:
        prefix = group.strip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(incidents.c.project_path.like(f"{prefix}/%", escape="\\"))
    query = query.order_by(follow_ups.c.opened_at, follow_ups.c.project_id, follow_ups.c.iid)
    with engine.connect() as conn:
        return [(_follow_up(row), _facts(row)) for row in conn.execute(query)]


def _facts(row: Any) -> IncidentFacts | None:
    if row.i_id is None:
        return None
    roles = row.i_roles if isinstance(row.i_roles, dict) else {}
    return IncidentFacts(
        row.i_severity,
        row.i_category,
        row.i_area,
        roles,
        row.i_title,
        row.i_url,
        bool(row.i_confidential),
        row.i_review_url,
        row.i_project_path or "",
    )


def set_reminded(engine: Engine, project_id: int, iid: int, reminded: int) -> None:
    """Record that the follow-up has had `reminded` overdue reminders (the overdue pass after posting one, reindex
    from the reminders' markers); never lowered, so a reading that knows fewer reminders forgets none."""
    c = follow_ups.c
    with engine.begin() as conn:
        conn.execute(
            follow_ups.update()
            .where(c.project_id == project_id, c.iid == iid, c.reminded < reminded)
            .values(reminded=reminded)
        )


def counts(engine: Engine, today: date) -> tuple[int, int]:
    """How many follow-ups are open, and how many of them are overdue (due on or before `today`), in one query."""
    c = follow_ups.c
    late = sa.case((sa.and_(c.due_on.is_not(None), c.due_on <= today), 1), else_=0)
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(late), 0)).where(c.state == "opened")
    with engine.connect() as conn:
        opened, overdue = conn.execute(query).one()
    return int(opened), int(overdue)


def due_before(rows: Sequence[FollowUp], today: date) -> list[FollowUp]:
    """The open ones due on or before `today` (overdue), most overdue first."""
    due = [r for r in rows if r.state == "opened" and r.due_on is not None and r.due_on <= today]
    return sorted(due, key=lambda r: (r.due_on, r.project_id, r.iid))
