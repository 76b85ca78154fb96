"""`reindex`'s merge requests (issue 19): what each production deployment the index knows carried, read once.

After the deployments' backfill (`store/reindex_changes.py`), each successful deployment to a production-tier
environment, or to one the suspects' settings name, that the index has never read (`store.mergerequests.unread`:
the suspects' own predicate, no `merge_request_reads` row) is read through the suspects' own call
(`deployment_merge_requests`) and kept by their own writer (`store.mergerequests.keep`). So `report --changes`
counts a merge request named as a cause against the deployment that carried it even when no suspect list ever
named that deployment, and a rerun reads nothing again. A few threads read (`reindex --workers`) while this one
writes. A deployment GitLab refuses (deleted, no access) is logged and left unread, asked again by the next run;
GitLab unreachable stops the run (`GitLabError`), as it stops the backfill.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from ..changes.hooks import Deployment
from ..gitlab.changes import MergeRequest
from ..gitlab.errors import PermanentGitLabError
from .mergerequests import keep, unread

log = logging.getLogger("incident_bot.reindex")
DEFAULT_WORKERS = 4


class MergeRequestSource(Protocol):
    """The one read this needs: service.gitlab.deployments.GitLabDeployments (the suspects' call)."""

    def deployment_merge_requests(self, project_id: int, deployment_id: int) -> list[MergeRequest]: ...


def read_merge_requests(
    engine: Engine,
    source: MergeRequestSource,
    environments: Iterable[str] = (),
    *,
    project_ids: Iterable[int] | None = None,
    since: datetime | None = None,
    workers: int = DEFAULT_WORKERS,
    now: datetime | None = None,
) -> int:
    """Read and keep the merge requests of every deployment `store.mergerequests.unread` names; how many deployments
    were read."""
    wanted = unread(engine, environments, project_ids=project_ids, since=since)
    at = now or datetime.now(UTC)

    def one(d: Deployment) -> list[MergeRequest] | None:
        try:
            return source.deployment_merge_requests(d.project_id, d.deployment_id)
        except PermanentGitLabError as exc:
            log.warning(
                "reindex: the merge requests of deployment %d of project %s not read: %s", d.deployment_id,
                d.project_path or d.project_id, exc,
            )  # fmt: skip
            return None

    count = 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="reindex-mrs") as pool:
        for d, found in zip(wanted, pool.map(one, wanted), strict=True):
            if found is not None:  # written here, in one thread, as GitLab answers in order
                keep(engine, (d.project_id, d.deployment_id), found, at)
                count += 1
    return count
