"""The last confirmed causes in the index (issue 19), newest first: what the weekly digest and the board list.

Each cause comes with its incident (path, title, URL, confidential, drill) and, for a deployment, the deployment
as indexed; the readers decide what a confidential incident's reader may see (`reports/causes.py` words it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..changes.hooks import Deployment
from .causes import CauseKind
from .changes import deployment
from .model import utc
from .schema import deployments, feature_flag_changes, incident_causes, incidents

MAX_LISTED = 50


@dataclass(frozen=True)
class ConfirmedCause:
    """An incident's confirmed cause as the index keeps it (`cause_path`: the changed project's path, "" unseen)."""

    project_id: int
    project_path: str
    iid: int
    title: str
    url: str
    confidential: bool
    kind: CauseKind
    cause_project_id: int
    cause_path: str
    deployment: Deployment | None  # a deployment cause the index has the deployment of
    deployment_id: int | None
    merge_request_iid: int | None
    flag_name: str | None
    recorded_by: str
    recorded_at: datetime


def _paths(conn: sa.Connection, ids: set[int]) -> dict[int, str]:
    """A path for each project id, as the index has seen it (an incident, a deployment or a flag)."""
    found: dict[int, str] = {}
    for table in (incidents, deployments, feature_flag_changes):
        if not ids - found.keys():
            break
        query = sa.select(table.c.project_id, table.c.project_path).where(
            table.c.project_id.in_(ids - found.keys()), table.c.project_path != ""
        )
        for pid, path in conn.execute(query):
            found.setdefault(int(pid), str(path))
    return found


def recent_causes(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10,
    include_drills: bool = False,
) -> tuple[list[ConfirmedCause], int]:
    """The causes confirmed in [since, until) (either open), newest first, at most `limit`; and how many in all."""
    c, i = incident_causes.c, incidents.c
    d = deployments.c
    joined = incident_causes.join(incidents, sa.and_(i.project_id == c.project_id, i.iid == c.iid)).outerjoin(
        deployments, sa.and_(d.project_id == c.cause_project_id, d.deployment_id == c.deployment_id)
    )
    where: list[sa.ColumnElement[bool]] = [] if include_drills else [i.drill.is_(False)]
    if since is not None:
        where.append(c.recorded_at >= utc(since))
    if until is not None:
        where.append(c.recorded_at < utc(until))
    found_at = d.status_changed_at.label("found_at")  # NULL: a deployment the index lacks
    query = (
        sa.select(incident_causes, i.project_path, i.title, i.url, i.confidential, found_at)
        .add_columns(*(col.label(f"d_{col.name}") for col in deployments.c))
        .select_from(joined)
        .where(*where)
        .order_by(c.recorded_at.desc(), c.project_id, c.iid)
        .limit(min(limit, MAX_LISTED))
    )
    total = sa.select(sa.func.count()).select_from(joined).where(*where)
    with engine.connect() as conn:
        rows = list(conn.execute(query))
        paths = _paths(conn, {int(r.cause_project_id) for r in rows})
        count = int(conn.execute(total).scalar() or 0)
    return [_cause(r, paths) for r in rows], count


def _cause(row: sa.Row, paths: dict[int, str]) -> ConfirmedCause:
    deployed = None
    if row.found_at is not None:
        deployed = deployment(SimpleNamespace(**{k[2:]: v for k, v in row._mapping.items() if k.startswith("d_")}))
    recorded = utc(row.recorded_at)
    assert recorded is not None  # NOT NULL
    return ConfirmedCause(
        project_id=int(row.project_id),
        project_path=str(row.project_path or ""),
        iid=int(row.iid),
        title=str(row.title or ""),
        url=str(row.url or ""),
        confidential=bool(row.confidential),
        kind=CauseKind(row.kind),
        cause_project_id=int(row.cause_project_id),
        cause_path=paths.get(int(row.cause_project_id), ""),
        deployment=deployed,
        deployment_id=row.deployment_id,
        merge_request_iid=row.merge_request_iid,
        flag_name=row.flag_name,
        recorded_by=str(row.recorded_by or ""),
        recorded_at=recorded,
    )


def named_projects(engine: Engine, *, drills: bool = True) -> frozenset[int]:
    """The projects with an incident that is not confidential (`drills` False: not a drill either), the incidents
    the digest and the board name to anyone: whose change figures they may show per project."""
    i = incidents.c
    query = sa.select(i.project_id).where(i.confidential.is_(False)).distinct()
    if not drills:
        query = query.where(i.drill.is_(False))
    with engine.connect() as conn:
        return frozenset(int(p) for p in conn.execute(query).scalars())
