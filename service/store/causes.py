"""Incidents' confirmed causes in the index (issue 19): at most one per incident, and what `report --changes` reads.

A cause is a deployment, a merge request or a feature flag. `record_cause` is the index's writer for it
(`None` clears an incident's cause); the deployments that caused incidents are read back joined with the
deployment and the incident, so the report needs no GitLab call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ..changes.hooks import Deployment
from .changes import deployment
from .model import utc
from .schema import deployments, incident_causes, incidents


class CauseKind(StrEnum):
    """What was named as an incident's cause."""

    DEPLOYMENT = "deployment"
    MERGE_REQUEST = "merge_request"
    FEATURE_FLAG = "feature_flag"


@dataclass(frozen=True)
class Cause:
    """An incident's confirmed cause: `project_id`/`iid` are the incident's, `cause_project_id` the change's."""

    project_id: int
    iid: int
    kind: CauseKind
    cause_project_id: int
    deployment_id: int | None = None
    merge_request_iid: int | None = None
    flag_name: str | None = None
    recorded_by: str = ""


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


def caused_incidents(engine: Engine) -> list[CausedIncident]:
    """Every incident whose cause is an indexed deployment, with that deployment (the report picks its window)."""
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
        return [
            CausedIncident(
                deployment(row),
                row.incident_project_id,
                row.incident_iid,
                utc(row.incident_started_at),
                utc(row.incident_resolved_at),
            )
            for row in conn.execute(query)
        ]
