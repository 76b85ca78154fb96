"""The fake GitLab's GraphQL: the mutations the bot sends (native severity, assignees by username)."""

from __future__ import annotations

from typing import Any

from .core import Answer


class GraphQL:
    """`POST /api/graphql`: `issueSetSeverity` and `issueSetAssignees`, found by name in the document."""

    def graphql_route(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> Answer | None:
        if path != "/api/graphql" or method != "POST":
            return None
        document, variables = str(data.get("query", "")), dict(data.get("variables") or {})
        answer: dict[str, Any] = {}
        issue = self._by_path(str(variables.get("projectPath", "")), str(variables.get("iid", "")))
        if "issueSetSeverity" in document:
            if issue is not None:
                issue["severity"] = str(variables.get("severity", "UNKNOWN"))
            answer["issueSetSeverity"] = {"errors": [] if issue is not None else ["issue not found"]}
        if "issueSetAssignees" in document:
            answer["issueSetAssignees"] = self._assign(issue, list(variables.get("assigneeUsernames") or []))
        return 200, {"data": answer}, {}

    def _by_path(self, project_path: str, iid: str) -> dict[str, Any] | None:
        """The issue of a project named by the path its reference shows, or as `GET /projects/:path` finds it."""
        for (pid, number), issue in self.issues.items():  # type: ignore[attr-defined]  # a FakeGitLab mixin
            path = issue["references"]["full"].split("#")[0]
            if str(number) == iid and project_path in (path, str(pid)):
                return issue
        pid = self.owner("projects", project_path)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        found = self.issues.get((pid, int(iid))) if pid is not None and iid.isdigit() else None  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return found if isinstance(found, dict) else None

    def _assign(self, issue: dict[str, Any] | None, usernames: list[str]) -> dict[str, Any]:
        """GitLab's REPLACE: the known users among `usernames` become the assignees; unknown ones are dropped (and
        with `single_assignee`, as on GitLab Free, all but the first)."""
        if issue is None:
            return {"errors": ["issue not found"], "issue": None}
        known = [(self.users[u], u) for u in usernames if u in self.users]  # type: ignore[attr-defined]  # a FakeGitLab mixin
        known = known[:1] if self.single_assignee else known  # type: ignore[attr-defined]  # a FakeGitLab mixin
        issue["assignees"] = [{"id": uid, "username": name} for uid, name in known]
        issue["updated_at"] = self.tick()  # type: ignore[attr-defined]  # a FakeGitLab mixin
        nodes = [{"username": name} for _, name in known]
        return {"errors": [], "issue": {"assignees": {"nodes": nodes}}}
