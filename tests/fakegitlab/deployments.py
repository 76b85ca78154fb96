"""The fake GitLab's deployments (issue 19): what `reindex` backfills, and the Deployment Hook GitLab sends for each.

`deploy(...)` keeps a deployment as `GET /projects/:id/deployments` lists it and returns the hook body GitLab would
deliver for it, so a test can hand the same deployments to the bot both ways. The listing filters by
`updated_after`, orders by `updated_at` (or `id`) and pages; `GET /groups/:id/projects` lists a group's projects.
`deployment_rows` may be edited to serve rows GitLab would never send (the hostile tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.changes.listed import guess_tier

from .core import Answer, iso


@dataclass
class Deployments:
    """Deployments by project id, as the Deployments API answers them."""

    deployment_rows: dict[int, list[Any]] = field(default_factory=dict)

    def deploy(
        self,
        project_id: int,
        deployment_id: int,
        at: datetime,
        *,
        status: str = "success",
        environment: str = "production",
        tier: str | None = "production",
        user: str = "dev",
        title: str = "Change",
    ) -> dict[str, Any]:
        """Keep one deployment (its status last changed `at`); the Deployment Hook body GitLab delivers for it."""
        path = self.project_path(project_id)
        sha = f"{deployment_id:08x}" + "0" * 32
        job = f"{self.base_url}/{path}/-/jobs/{9000 + deployment_id}"  # type: ignore[attr-defined]  # Core's
        env: dict[str, Any] = {"id": 100 + len(environment), "name": environment, "external_url": None}
        if tier is not None:  # GitLab 16+ lists the tier; older ones do not (the bot guesses it from the name)
            env["tier"] = tier
        row = {
            "id": deployment_id, "iid": deployment_id, "ref": "main", "sha": sha, "status": status,
            "created_at": iso(at), "updated_at": iso(at), "user": self.user(user),  # type: ignore[attr-defined]  # Core's
            "environment": env,
            "deployable": {"id": 9000 + deployment_id, "status": status, "web_url": job,
                           "commit": {"id": sha, "short_id": sha[:8], "title": title}},
        }  # fmt: skip
        rows = self.deployment_rows.setdefault(project_id, [])
        rows[:] = [r for r in rows if not (isinstance(r, dict) and r.get("id") == deployment_id)] + [row]
        return {
            "object_kind": "deployment", "status": status, "status_changed_at": at.strftime("%Y-%m-%d %H:%M:%S +0000"),
            "deployment_id": deployment_id, "deployable_id": 9000 + deployment_id, "deployable_url": job,
            "environment": environment, "environment_tier": tier or guess_tier(environment), "short_sha": sha[:8],
            "project": {"id": project_id, "path_with_namespace": path}, "user": self.user(user),  # type: ignore[attr-defined]  # Core's
            "commit_title": title,
        }  # fmt: skip

    def project_path(self, project_id: int) -> str:
        """The project's path (the fake's `projects`, which `GET /projects/:id` answers too)."""
        names: dict[str, int] = self.projects  # type: ignore[attr-defined]  # Ops'
        return next((p for p, i in names.items() if i == project_id), f"group/p{project_id}")

    def deployments_route(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> Answer | None:
        if method != "GET":
            return None
        m = re.fullmatch(r"/(projects|groups)/(.+)/(deployments|projects)", path)
        if not m or (m.group(1), m.group(3)) not in (("projects", "deployments"), ("groups", "projects")):
            return None
        owner = self.owner(m.group(1), m.group(2))  # type: ignore[attr-defined]  # Ops'
        if owner is None:
            return 404, {"message": f"404 {m.group(1)[:-1].title()} Not Found"}, {}
        if m.group(1) == "groups":
            within = [pid for pid, group in self.project_group.items() if group == owner]  # type: ignore[attr-defined]  # Ops'
            found = [{"id": pid, "path_with_namespace": self.project_path(pid)} for pid in sorted(within)]
            return self.page(found, query)  # type: ignore[attr-defined]  # Core's
        rows = list(self.deployment_rows.get(owner, []))
        if query.get("updated_after"):
            after = query["updated_after"]
            rows = [r for r in rows if not isinstance(r, dict) or _stamp(r.get("updated_at")) >= _stamp(after)]
        by_update = query.get("order_by") == "updated_at"
        rows.sort(key=lambda r: _order(r, by_update), reverse=query.get("sort") == "desc")
        return self.page(rows, query)  # type: ignore[attr-defined]  # Core's


def _order(row: Any, by_update: bool) -> tuple[str, int]:
    if not isinstance(row, dict):
        return ("", 0)
    ident = row.get("id")
    number = ident if isinstance(ident, int) and not isinstance(ident, bool) else 0
    return (_stamp(row.get("updated_at")) if by_update else "", number)


def _stamp(text: Any) -> str:
    """A time as comparable text (the fake's `iso` form; `Z` and `.000` added to a bare ISO time)."""
    value = str(text or "").replace("+00:00", "Z")
    return value if "." in value else value.replace("Z", ".000Z")
