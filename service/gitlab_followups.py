"""The GitLab calls of follow-ups (issue 20): read an issue as a follow-up, read an issue's links, open and edit one.

A mixin of `PythonGitLabClient` (its `_call` does the HTTP, errors and metrics), kept apart so the client's
own code is unchanged; `FollowUpGitLab` is the Protocol part `GitLabClient` takes from it. A project is
named by id or by path (`group/project`, URL-encoded here as GitLab wants it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

from .corrective import FollowUpIssue, LinkedIssue, follow_up_from_api, linked_from_api
from .incident import UnexpectedAnswer


class FollowUpGitLab(Protocol):
    """The follow-up calls every GitLab client offers."""

    def get_follow_up(self, project: int | str, iid: int) -> FollowUpIssue:
        """The issue; PermanentGitLabError (404) when GitLab does not show it: missing, or not visible to the bot."""
        ...

    def issue_links(self, project_id: int, iid: int) -> list[LinkedIssue]: ...

    def open_follow_up(
        self,
        project: int | str,
        title: str,
        description: str,
        labels: Iterable[str],
        *,
        assignee_id: int | None = None,
        due_on: date | None = None,
        confidential: bool = False,
    ) -> FollowUpIssue: ...

    def edit_follow_up(
        self, project_id: int, iid: int, *, add_labels: Iterable[str] = (), due_on: date | None = None
    ) -> None: ...


def project_ref(project: int | str) -> str:
    """A project id as is, a path URL-encoded (`group%2Fproject`)."""
    return str(project) if isinstance(project, int) else quote(project, safe="")


class FollowUpCalls:
    """FollowUpGitLab over `_call` (PythonGitLabClient's)."""

    def _call(self, verb: str, path: str, **kwargs: Any) -> Any:  # pragma: no cover - the client's own
        raise NotImplementedError

    def get_follow_up(self, project: int | str, iid: int) -> FollowUpIssue:
        data = self._call("get", f"/projects/{project_ref(project)}/issues/{iid}")
        pid = data.get("project_id") if isinstance(data, dict) else None
        if not isinstance(pid, int):
            raise UnexpectedAnswer(f"issue {project}#{iid}", "`project_id` missing", data)
        return follow_up_from_api(pid, data)

    def issue_links(self, project_id: int, iid: int) -> list[LinkedIssue]:
        links = self._call("get", f"/projects/{project_id}/issues/{iid}/links")
        if not isinstance(links, list):
            raise UnexpectedAnswer(f"the links of issue {project_id}#{iid}", "a list expected", links)
        return [linked_from_api(item) for item in links]

    def open_follow_up(
        self,
        project: int | str,
        title: str,
        description: str,
        labels: Iterable[str],
        *,
        assignee_id: int | None = None,
        due_on: date | None = None,
        confidential: bool = False,
    ) -> FollowUpIssue:
        fields: dict[str, Any] = {"title": title, "description": description, "labels": ",".join(labels)}
        if assignee_id is not None:
            fields["assignee_ids"] = [assignee_id]
        if due_on is not None:
            fields["due_date"] = due_on.isoformat()
        if confidential:
            fields["confidential"] = True
        data = self._call("post", f"/projects/{project_ref(project)}/issues", post_data=fields)
        pid = data.get("project_id") if isinstance(data, dict) else None
        if not isinstance(pid, int):
            raise UnexpectedAnswer(f"the new issue in {project}", "`project_id` missing", data)
        return follow_up_from_api(pid, data)

    def edit_follow_up(
        self, project_id: int, iid: int, *, add_labels: Iterable[str] = (), due_on: date | None = None
    ) -> None:
        data: dict[str, Any] = {}
        if add := sorted(add_labels):
            data["add_labels"] = ",".join(add)
        if due_on is not None:
            data["due_date"] = due_on.isoformat()
        if data:
            self._call("put", f"/projects/{project_id}/issues/{iid}", post_data=data)
