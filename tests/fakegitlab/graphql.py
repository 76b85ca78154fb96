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
        for (pid, number), issue in self.issues.items():  # type: ignore[attr-defined]  # a FakeGitLab mixin
            path = issue["references"]["full"].split("#")[0]
            if str(number) == iid and project_path in (path, str(pid)):
                return issue
        return None

    def _assign(self, issue: dict[str, Any] | None, usernames: list[str]) -> dict[str, Any]:
        """GitLab's REPLACE: the known users among `usernames` become the assignees; unknown ones are dropped."""
        if issue is None:
            return {"errors": ["issue not found"], "issue": None}
        known = [(self.users[u], u) for u in usernames if u in self.users]  # type: ignore[attr-defined]  # a FakeGitLab mixin
        issue["assignees"] = [{"id": uid, "username": name} for uid, name in known]
        issue["updated_at"] = self.tick()  # type: ignore[attr-defined]  # a FakeGitLab mixin
        nodes = [{"username": name} for _, name in known]
        return {"errors": [], "issue": {"assignees": {"nodes": nodes}}}
