"""Deployments and feature-flag switches in the index (issue 19): written by the worker, read for suspects and reports.

A deployment's row is its latest status: a hook for the same deployment replaces it only when it is not
older (by `status_changed_at`; at the same instant a finished status wins over a running one), so hooks
GitLab sends out of order leave the right status. A flag switch is a row of its own, and a replayed
delivery (the same switch at the same time) adds none. The suspects' query narrows by time, project and
kind in SQL and `changes.suspects.select_suspects` decides; the same rules, so nothing is lost to the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ..changes.hooks import PRODUCTION, SUCCESS, Change, Deployment, FlagChange
from ..changes.suspects import Suspect, SuspectScope, select_suspects
from ..rules.settings import SuspectSettings
from .model import utc
from .schema import deployments, feature_flag_changes

FINISHED = ("success", "failed", "canceled", "skipped")  # a deployment's last statuses: they win a tie
_d, _f = deployments.c, feature_flag_changes.c


def _insert(engine: Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def _finished(status: Any) -> Any:
    return sa.case((status.in_(FINISHED), 1), else_=0)


def record(engine: Engine, change: Change, recorded_at: datetime | None = None) -> None:
    """Write one change (see the module docstring for what a repeated or older one does)."""
    now = utc(recorded_at) or datetime.now(UTC)
    if isinstance(change, Deployment):
        stmt = _insert(engine)(deployments).values(
            project_id=change.project_id,
            deployment_id=change.deployment_id,
            project_path=change.project_path,
            status=change.status,
            environment=change.environment,
            tier=change.tier,
            deployable_url=change.deployable_url,
            sha=change.sha,
            commit_title=change.commit_title,
            username=change.user,
            status_changed_at=utc(change.status_changed_at),
            recorded_at=now,
        )
        new = stmt.excluded
        newer = sa.or_(
            new.status_changed_at > _d.status_changed_at,
            sa.and_(new.status_changed_at == _d.status_changed_at, _finished(new.status) >= _finished(_d.status)),
        )
        kept = ("project_id", "deployment_id")
        stmt = stmt.on_conflict_do_update(
            index_elements=list(kept),
            set_={c.name: new[c.name] for c in deployments.c if c.name not in kept},
            where=newer,
        )
    else:
        stmt = _insert(engine)(feature_flag_changes).values(
            project_id=change.project_id,
            project_path=change.project_path,
            flag_id=change.flag_id,
            name=change.name,
            active=change.active,
            username=change.user,
            changed_at=utc(change.changed_at),
            recorded_at=now,
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["project_id", "name", "active", "changed_at"])
    with engine.begin() as conn:
        conn.execute(stmt)


def _projects(columns: Any, paths: int) -> Any:
    """The incident's project (`:pid`), or one of `paths` shared paths (`:path_<n>`: the path, `:under_<n>`: a LIKE
    pattern for a group and everything under it), as bound parameters: the statement is built once per count."""
    path = sa.func.lower(columns.project_path)
    shared = []
    for n in range(paths):
        shared += [path == sa.bindparam(f"path_{n}"), path.like(sa.bindparam(f"under_{n}"), escape="\\")]
    return sa.or_(columns.project_id == sa.bindparam("pid"), *shared)


def _path_values(scope: SuspectScope) -> dict[str, str]:
    """The values of `_projects`' bound parameters for the scope's shared paths (lower case; LIKE escaped)."""
    values = {}
    for n, p in enumerate(scope.paths):
        lowered = p.lower()
        values[f"path_{n}"] = lowered
        values[f"under_{n}"] = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
    return values


def production(environments: Any) -> Any:
    """A successful deployment to a production-tier environment or to one of `environments` (the suspects' settings'
    names; a list or an expanding bound parameter): what `changes.suspects.counts` asks of a deployment, in SQL."""
    return sa.and_(_d.status == SUCCESS, sa.or_(_d.tier == PRODUCTION, _d.environment.in_(environments)))


@lru_cache(maxsize=64)
def _suspect_statements(paths: int, limit: int) -> tuple[Any, Any]:
    """The two suspects' queries for a scope sharing `paths` paths, built once: every value is a bound parameter
    (SQLAlchemy then reuses its compiled form; building the statement per lookup cost most of the lookup)."""
    since, until = (
        sa.bindparam("since", type_=_d.status_changed_at.type),
        sa.bindparam("until", type_=_d.status_changed_at.type),
    )
    deployed = (
        sa.select(deployments)
        .where(
            production(sa.bindparam("environments", expanding=True)),
            _d.status_changed_at.between(since, until),
            _projects(_d, paths),
        )
        .order_by(_d.status_changed_at.desc(), _d.project_id.desc(), _d.deployment_id.desc())
        .limit(limit)
    )
    switched = (
        sa.select(feature_flag_changes)
        .where(_f.changed_at.between(since, until), _projects(_f, paths))
        .order_by(_f.changed_at.desc(), _f.id.desc())
        .limit(limit)
    )
    return deployed, switched


def deployment(row: Any) -> Deployment:
    """A deployments row as the record it was written from."""
    at = utc(row.status_changed_at)
    assert at is not None  # NOT NULL
    return Deployment(
        row.project_id, row.project_path, row.deployment_id, row.status, row.environment, row.tier,
        row.deployable_url, row.sha, row.commit_title, row.username, at,
    )  # fmt: skip


def flag_change(row: Any) -> FlagChange:
    """A feature_flag_changes row as the record it was written from."""
    at = utc(row.changed_at)
    assert at is not None  # NOT NULL
    return FlagChange(row.project_id, row.project_path, row.name, row.active, row.username, at, row.flag_id)


def candidates(engine: Engine, scope: SuspectScope, settings: SuspectSettings) -> list[Change]:
    """The changes that count as the incident's suspects, at most `settings.limit` of each kind, newest first."""
    deployed, switched = _suspect_statements(len(scope.paths), settings.limit)
    values = {
        "since": utc(scope.started_at - timedelta(hours=settings.window_hours)),
        "until": utc(scope.started_at),
        "pid": scope.project_id,
        "environments": list(settings.environments),
        **_path_values(scope),
    }
    with engine.connect() as conn:
        found: list[Change] = [deployment(row) for row in conn.execute(deployed, values)]
        found += [flag_change(row) for row in conn.execute(switched, values)]
    return found


def suspects(engine: Engine, scope: SuspectScope, settings: SuspectSettings) -> list[Suspect]:
    """The incident's suspects from the index, newest first (`changes.suspects` decides which)."""
    return select_suspects(scope, candidates(engine, scope, settings), settings)


def deployments_between(engine: Engine, since: datetime, until: datetime) -> Iterable[Deployment]:
    """The successful deployments whose status changed in [since, until), oldest first (`report --changes`)."""
    query = (
        sa.select(deployments)
        .where(_d.status == SUCCESS, _d.status_changed_at >= utc(since), _d.status_changed_at < utc(until))
        .order_by(_d.status_changed_at, _d.project_id, _d.deployment_id)
    )
    with engine.connect() as conn:
        return [deployment(row) for row in conn.execute(query)]
