"""Incidents' confirmed causes in the index (issue 19): at most one per incident, and what `report --changes` reads.

A cause is a deployment, a merge request or a feature flag. `record_cause` is the index's writer for it
(`None` clears an incident's cause); the deployments that caused incidents are read back joined with the
deployment and the incident (a merge request through the first production deployment that carried it), so the
report needs no GitLab call. The lookups that resolve a `cause <ref>` (a
deployment by id or job URL, the one before it for the rollback hint, a project by path, a flag by name) are here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ..changes.hooks import Deployment
from .changes import deployment
from .mergerequests import first_deployment
from .model import Cause, CauseKind, Observation, utc
from .schema import deployments, feature_flag_changes, incident_causes, incidents


@dataclass(frozen=True)
class CausedIncident:
    """A deployment named as an incident's cause, with the incident's start and resolution."""

    deployment: Deployment
    project_id: int
    iid: int
    started_at: datetime | None
    resolved_at: datetime | None


def record_cause(engine: Engine, project_id: int, iid: int, cause: Cause | None, at: datetime | None = None) -> None:
    """Set (or with None, clear) the incident's cause; a later cause replaces the earlier one."""
    c = incident_causes.c
    with engine.begin() as conn:
        conn.execute(incident_causes.delete().where(c.project_id == project_id, c.iid == iid))
        if cause is None:
            return
        insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            insert(incident_causes).values(
                project_id=project_id,
                iid=iid,
                kind=str(cause.kind),
                cause_project_id=cause.cause_project_id,
                deployment_id=cause.deployment_id,
                merge_request_iid=cause.merge_request_iid,
                flag_name=cause.flag_name[:255] if cause.flag_name else None,
                recorded_by=cause.recorded_by[:255],
                recorded_at=utc(at) or datetime.now(UTC),
            )
        )


def rebuild_causes(engine: Engine, observations: Iterable[Observation]) -> int:
    """Reindex: each incident's cause as the bot's newest confirmation in GitLab marks it (`Observation.cause`),
    written by `record_cause` as the worker wrote it; an incident no confirmation marks keeps what the index has.
    How many causes were written (a clear is not one)."""
    written = 0
    for obs in observations:
        if obs.cause is not None:
            record_cause(engine, obs.project_id, obs.iid, obs.cause.cause, obs.cause.at)
            written += obs.cause.cause is not None
    return written


def caused_incidents(engine: Engine) -> list[CausedIncident]:
    """Every incident whose cause is an indexed deployment, with that deployment (the report picks its window).

    A merge request named as the cause counts against the first successful production deployment known to have
    carried it (`store.mergerequests`: what GitLab said when a suspect list, a cause, its comment or reindex read
    it); a flag, or a merge request no indexed deployment carried, against none.
    """
    c, d, i = incident_causes.c, deployments.c, incidents.c
    query = (
        sa.select(deployments, c.project_id.label("incident_project_id"), c.iid.label("incident_iid"))
        .add_columns(i.started_at.label("incident_started_at"), i.resolved_at.label("incident_resolved_at"))
        .select_from(
            incident_causes.join(
                deployments, sa.and_(d.project_id == c.cause_project_id, d.deployment_id == c.deployment_id)
            ).outerjoin(incidents, sa.and_(i.project_id == c.project_id, i.iid == c.iid))
        )
        .where(c.kind == CauseKind.DEPLOYMENT.value)
        .order_by(c.project_id, c.iid)
    )
    with engine.connect() as conn:
        found = [_caused(deployment(row), row) for row in conn.execute(query)]
    found += _merge_requests_caused(engine)
    return sorted(found, key=lambda f: (f.project_id, f.iid))


def _caused(by: Deployment, row: Any) -> CausedIncident:
    return CausedIncident(
        by, row.incident_project_id, row.incident_iid, utc(row.incident_started_at), utc(row.incident_resolved_at)
    )


def _merge_requests_caused(engine: Engine) -> list[CausedIncident]:
    """The incidents whose cause is a merge request, each against the first production deployment that carried it."""
    c, i = incident_causes.c, incidents.c
    query = (
        sa.select(c.cause_project_id, c.merge_request_iid, c.project_id.label("incident_project_id"))
        .add_columns(c.iid.label("incident_iid"), i.started_at.label("incident_started_at"))
        .add_columns(i.resolved_at.label("incident_resolved_at"))
        .select_from(incident_causes.outerjoin(incidents, sa.and_(i.project_id == c.project_id, i.iid == c.iid)))
        .where(c.kind == CauseKind.MERGE_REQUEST.value, c.merge_request_iid.is_not(None))
    )
    with engine.connect() as conn:
        rows = list(conn.execute(query))
    found = []
    for row in rows:
        first = first_deployment(engine, int(row.cause_project_id), int(row.merge_request_iid))
        if first is not None:
            found.append(_caused(first, row))
    return found


def deployments_named(engine: Engine, *, deployment_id: int | None = None, url: str | None = None) -> list[Deployment]:
    """The indexed deployments with this id, or whose job has this URL, newest first (`cause <ref>`)."""
    d = deployments.c
    where = d.deployment_id == deployment_id if deployment_id is not None else d.deployable_url == (url or "")
    query = sa.select(deployments).where(where).order_by(d.status_changed_at.desc(), d.project_id).limit(20)
    with engine.connect() as conn:
        return [deployment(row) for row in conn.execute(query)]


def previous_deployment(engine: Engine, of: Deployment) -> Deployment | None:
    """The last successful deployment of the same project and environment before `of` (the rollback hint)."""
    d = deployments.c
    at = utc(of.status_changed_at)
    earlier = sa.or_(d.status_changed_at < at, sa.and_(d.status_changed_at == at, d.deployment_id < of.deployment_id))
    query = (
        sa.select(deployments)
        .where(d.project_id == of.project_id, d.environment == of.environment, d.status == "success", earlier)
        .order_by(d.status_changed_at.desc(), d.deployment_id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return deployment(row) if row is not None else None


def project_id_of(engine: Engine, path: str) -> int | None:
    """The id of the project at `path` (any case) as the index has seen it in an incident or a change; None: unseen."""
    lowered = path.lower()
    with engine.connect() as conn:
        for table in (incidents, deployments, feature_flag_changes):
            query = sa.select(table.c.project_id).where(sa.func.lower(table.c.project_path) == lowered).limit(1)
            found = conn.execute(query).scalar()
            if found is not None:
                return int(found)
    return None


def flag_projects(engine: Engine, name: str) -> list[tuple[int, str]]:
    """(project id, path) of every project whose flag of this name the index has seen switched."""
    f = feature_flag_changes.c
    query = sa.select(f.project_id, f.project_path).where(f.name == name).distinct().order_by(f.project_id)
    with engine.connect() as conn:
        return [(int(row.project_id), str(row.project_path)) for row in conn.execute(query)]
