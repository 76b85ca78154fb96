"""Which incidents a query covers (Scope) and one incident as the index has it (IncidentRow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .model import utc
from .schema import incidents


@dataclass(frozen=True)
class IncidentRow:
    """One incident as the index has it."""

    id: int
    project_id: int
    project_path: str
    iid: int
    title: str
    description: str
    url: str
    confidential: bool
    drill: bool
    issue_type: str
    category: str | None
    area: str | None
    severity: int | None
    highest_severity: int | None
    phase: str | None
    state: str
    author: str | None
    author_id: int | None
    roles: dict[str, str]
    created_at: datetime | None
    started_at: datetime | None
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    review_url: str | None
    review_state: str | None
    last_status_update_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> IncidentRow:
        """From a database row; timestamps made aware UTC."""
        data = dict(row._mapping)
        for name in ("created_at", "started_at", "acknowledged_at", "mitigated_at", "resolved_at"):
            data[name] = utc(data[name])
        data["last_status_update_at"] = utc(data["last_status_update_at"])
        data["updated_at"] = utc(data["updated_at"])
        data["roles"] = dict(data["roles"] or {})
        return cls(**data)


@dataclass(frozen=True)
class Scope:
    """Which incidents a query covers: a project (id or path), a group (path prefix), a start window."""

    project: str | None = None
    group: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    include_drills: bool = True


def conditions(scope: Scope) -> Sequence[Any]:
    """The WHERE conditions of a scope."""
    conditions: list[Any] = []
    if scope.project:
        if scope.project.isdigit():
            conditions.append(incidents.c.project_id == int(scope.project))
        else:
            conditions.append(incidents.c.project_path == scope.project.strip("/"))
    if scope.group:
        prefix = scope.group.strip("/")
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(incidents.c.project_path.like(f"{escaped}/%", escape="\\"))
    if scope.started_from is not None:
        conditions.append(incidents.c.started_at >= utc(scope.started_from))
    if scope.started_to is not None:
        conditions.append(incidents.c.started_at < utc(scope.started_to))
    if not scope.include_drills:
        conditions.append(incidents.c.drill == sa.false())
    return conditions
