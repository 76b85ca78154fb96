"""Reindex's reads of deployments (issue 19): a project, a group's projects, a project's deployments by update time,
and a deployment's merge requests (the suspects' own call, `changes.ChangeCalls.deployment_merge_requests`).

Raw JSON, as GitLab answers it: `changes/listed.py` reads a deployment row into the hook's record and
`store/reindex_changes.py` decides which projects to read and records what it finds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .changes import ChangeCalls
from .errors import PermanentGitLabError
from .session import Session

MAX_PAGES = 10_000  # 100 a page: a million deployments of one project


def _when(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class GitLabDeployments(ChangeCalls):
    """The reads `reindex` makes for deployments (store.reindex_changes.DeploymentSource) and their merge requests
    (store.reindex_mergerequests.MergeRequestSource), over reindex's Session."""

    def __init__(self, session: Session):
        self.session = session

    def project(self, ident: str) -> dict[str, Any] | None:
        """The project at this id or path (`id`, `path_with_namespace`, ...); None when GitLab knows no such project."""
        path = f"/projects/{quote(ident, safe='')}"
        try:
            found = self.session.call("get", path, f"GET {path}")
        except PermanentGitLabError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    def group_projects(self, group: str) -> Iterator[dict[str, Any]]:
        """The projects of a group and its subgroups (none when GitLab knows no such group)."""
        path = f"/groups/{quote(group, safe='')}/projects"
        query = {"include_subgroups": "true", "order_by": "id", "sort": "asc", "simple": "true"}
        try:
            yield from self.session.pages(path, f"GET {path}", query, max_pages=MAX_PAGES)
        except PermanentGitLabError as exc:
            if exc.status != 404:
                raise

    def deployments(self, project_id: int, updated_after: datetime | None) -> Iterator[Any]:
        """The project's deployments, least recently updated first (those updated after `updated_after`)."""
        path = f"/projects/{project_id}/deployments"
        query: dict[str, Any] = {"order_by": "updated_at", "sort": "asc"}
        if updated_after is not None:
            query["updated_after"] = _when(updated_after)
        yield from self.session.pages(path, f"GET {path}", query, max_pages=MAX_PAGES)
