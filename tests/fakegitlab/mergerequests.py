"""The fake GitLab's merge requests (issue 19): a deployment's merge requests, a merge request's diffs and notes.

`ship(project, deployment, iid, ...)` says a deployment carried a merge request (GitLab's merge request JSON);
`GET /projects/:id/deployments/:deployment_id/merge_requests` lists them (paged),
`GET /projects/:id/merge_requests/:iid/diffs` their changed files, and `GET`/`POST .../merge_requests/:iid/notes`
their comments. A project is named by id or path, as everywhere in the fake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .core import BOT, Answer

_ROUTE = re.compile(r"/projects/(.+?)/(deployments/(\d+)/merge_requests|merge_requests/(\d+)/(diffs|notes))")


@dataclass
class MergeRequests:
    """Which merge requests each deployment carried, and each merge request's changed files and comments."""

    merge_requests: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (project, iid) -> its JSON
    shipped: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (project, deployment) -> iids
    mr_paths: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    mr_notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)

    def ship(
        self, project_id: int, deployment_id: int, iid: int, *, title: str = "", author: str = "dev",
        merged_at: str = "2026-12-05T09:00:00.000Z", path: str = "gitlabhq/gitlab-test", paths: tuple[str, ...] = (),
    ) -> dict[str, Any]:  # fmt: skip
        """Deployment `deployment_id` of project `project_id` carried merge request `iid` (made if new)."""
        mr = self.merge_requests.setdefault((project_id, iid), {
            "id": project_id * 100_000 + iid, "iid": iid, "project_id": project_id, "title": title or f"MR {iid}",
            "state": "merged", "merged_at": merged_at, "author": self.user(author),  # type: ignore[attr-defined]  # a FakeGitLab mixin
            "web_url": f"{self.base_url}/{path}/-/merge_requests/{iid}",  # type: ignore[attr-defined]  # a FakeGitLab mixin
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{path}!{iid}"},
        })  # fmt: skip
        self.shipped.setdefault((project_id, deployment_id), []).append(iid)
        self.mr_paths.setdefault((project_id, iid), list(paths))
        return mr

    def mr_route(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> Answer | None:
        m = _ROUTE.fullmatch(path)
        if not m:
            return None
        pid = self.owner("projects", m.group(1))  # type: ignore[attr-defined]  # a FakeGitLab mixin
        if pid is None:
            return 404, {"message": "404 Project Not Found"}, {}
        if m.group(3) is not None and method == "GET":
            listed = [self.merge_requests[(pid, i)] for i in self.shipped.get((pid, int(m.group(3))), [])]
            return self.page(listed, query)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        key = (pid, int(m.group(4) or 0))
        if key not in self.merge_requests:
            return 404, {"message": "404 Merge Request Not Found"}, {}
        if m.group(5) == "diffs" and method == "GET":
            files = [{"old_path": p, "new_path": p, "diff": "", "new_file": False} for p in self.mr_paths.get(key, [])]
            return self.page(files, query)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        notes = self.mr_notes.setdefault(key, [])
        if method == "GET":  # GitLab's default order: newest first; `sort=asc` oldest first; paged
            listed = sorted(notes, key=lambda n: n["id"], reverse=query.get("sort", "desc") != "asc")
            return self.page(listed, query)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        if method == "POST":
            note_id, at = self.next_id(), self.tick()  # type: ignore[attr-defined]  # a FakeGitLab mixin
            note = {"id": note_id, "body": str(data.get("body", "")), "author": BOT, "system": False, "created_at": at}
            notes.append(note)
            return 201, note, {}
        return None
