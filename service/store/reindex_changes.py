"""`reindex`'s deployments: backfill the index from GitLab's Deployments API, for each project reindex covers.

Each listed deployment is read into the record its Deployment Hook gives (`changes/listed.py`) and written by the
hook's own writer (`store.changes.record`), so a backfilled deployment and a hooked one are the same row, and a
second run adds nothing. The projects: `--project`'s, `--group`'s (with its subgroups'), or without either, every
project the index has seen (in an incident or a deployment) and those the areas' `projects:` name. A row GitLab
answers that cannot be read (a field missing or of the wrong type) is skipped with a log line; a project GitLab
refuses (no access, deleted) is skipped the same way; GitLab unreachable stops the run (`GitLabError`). Then the
merge requests of the production deployments the index never read are read (`store/reindex_mergerequests.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..changes.listed import parse_listed
from ..fields import PayloadError, optional_id
from ..gitlab.deployments import GitLabDeployments
from ..gitlab.errors import PermanentGitLabError
from ..gitlab.history import GitLabHistory
from .changes import record
from .reindex_mergerequests import DEFAULT_WORKERS, read_merge_requests
from .schema import deployments, incidents

if TYPE_CHECKING:
    from ..rules import RuleSet
    from .store import Store

log = logging.getLogger("incident_bot.reindex")
Project = tuple[int, str]  # id, path_with_namespace


class DeploymentSource(Protocol):
    """The GitLab reads the backfill needs: service.gitlab.deployments.GitLabDeployments."""

    def project(self, ident: str) -> dict[str, Any] | None: ...

    def group_projects(self, group: str) -> Iterator[dict[str, Any]]: ...

    def deployments(self, project_id: int, updated_after: datetime | None) -> Iterator[Any]: ...


@dataclass(frozen=True)
class BackfillResult:
    """What one backfill did: projects read, deployments read and written, rows new to the index, rows skipped."""

    projects: int
    deployments: int
    added: int
    skipped: int
    project_ids: tuple[int, ...] = field(default=(), compare=False, repr=False)  # the projects read, by id


def _project(raw: Any) -> Project | None:
    if not isinstance(raw, dict):
        return None
    pid, path = optional_id(raw.get("id")), raw.get("path_with_namespace")
    return (pid, path if isinstance(path, str) else "") if pid is not None else None


def _known(engine: Engine) -> list[Project]:
    """The projects the index has seen, in an incident or a deployment."""
    with engine.connect() as conn:
        found = conn.execute(
            sa.union(
                sa.select(incidents.c.project_id, incidents.c.project_path),
                sa.select(deployments.c.project_id, deployments.c.project_path),
            )
        )
        return [(int(pid), str(path or "")) for pid, path in found]


def covered(
    engine: Engine, source: DeploymentSource, *, project: str | None, group: str | None, shared: Iterable[str] = ()
) -> list[Project]:
    """The projects whose deployments reindex reads (see the module docstring), each once, by id."""
    if project:
        found = [_project(source.project(project))]
    elif group:
        found = [_project(raw) for raw in source.group_projects(group)]
    else:
        found = list(_known(engine))
        for path in shared:  # an area's entry is a project or a group
            one = _project(source.project(path))
            found += [one] if one is not None else [_project(raw) for raw in source.group_projects(path)]
    by_id: dict[int, str] = {}
    for item in found:
        if item is not None and (item[1] or item[0] not in by_id):
            by_id[item[0]] = item[1]
    return sorted(by_id.items())


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(deployments)).scalar() or 0)


def backfill(
    engine: Engine,
    source: DeploymentSource,
    *,
    project: str | None = None,
    group: str | None = None,
    since: datetime | None = None,
    shared: Iterable[str] = (),
    now: datetime | None = None,
) -> BackfillResult:
    """Record every deployment of the covered projects updated since `since` (all without it)."""
    before, read, skipped = _count(engine), 0, 0
    projects = covered(engine, source, project=project, group=group, shared=shared)
    recorded_at = now or datetime.now(UTC)
    for pid, path in projects:
        try:
            for n, row in enumerate(source.deployments(pid, since)):
                try:
                    change = parse_listed(row, pid, path)
                except PayloadError as exc:
                    skipped += 1
                    log.warning("reindex: deployment %d of project %s skipped: %s", n + 1, path or pid, exc)
                    continue
                record(engine, change, recorded_at)
                read += 1
        except PermanentGitLabError as exc:
            log.warning("reindex: the deployments of project %s not read: %s", path or pid, exc)
    return BackfillResult(len(projects), read, _count(engine) - before, skipped, tuple(pid for pid, _ in projects))


def backfill_deployments(
    store: Store,
    source: GitLabHistory,
    rules: RuleSet,
    project: str | None,
    group: str | None,
    since: datetime | None,
    workers: int = DEFAULT_WORKERS,
) -> str:
    """`reindex`'s deployments over its GitLab session (`cmd_reindex`), then the merge requests of the production
    ones never read (`store.reindex_mergerequests`): the line it prints of them."""
    shared = [p for area in rules.areas.values() for p in area.projects]
    gitlab = GitLabDeployments(source.session)
    done = backfill(store.engine, gitlab, project=project, group=group, since=since, shared=shared)
    carried = read_merge_requests(
        store.engine, gitlab, rules.settings.suspects.environments, since=since, workers=workers,
        project_ids=done.project_ids if project or group else None,  # without a scope: every project the index has
    )  # fmt: skip
    return (
        f"deployments: {done.deployments} read from {done.projects} projects' Deployments API, {done.added} new "
        f"to the index, {done.skipped} skipped (unreadable; see the log); merge requests of {carried} production "
        "deployments read"
    )
