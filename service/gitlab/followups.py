"""The GitLab calls of follow-ups (issue 20): read an issue as a follow-up, read an issue's links, open and edit one.

A mixin of `BotClient` (its Session does the HTTP, errors, retries and metrics); `FollowUpGitLab` is the Protocol
part `GitLabClient` takes from it. GitLab's JSON is read into `corrective`'s types here, once. A project is named
by id or by path (`group/project`, URL-encoded here as GitLab wants it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

from .. import bounds
from ..corrective import FollowUpIssue, LinkedIssue, due_date
from .errors import UnexpectedAnswer
from .session import Session


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
    """FollowUpGitLab over the client's Session."""

    session: Session

    def get_follow_up(self, project: int | str, iid: int) -> FollowUpIssue:
        data = self.session.call("get", f"/projects/{project_ref(project)}/issues/{iid}", f"issue {project}#{iid}")
        pid = data.get("project_id") if isinstance(data, dict) else None
        if not isinstance(pid, int):
            raise UnexpectedAnswer(f"issue {project}#{iid}", "`project_id` missing", data)
        return follow_up_from_api(pid, data)

    def issue_links(self, project_id: int, iid: int) -> list[LinkedIssue]:
        links = self.session.call(
            "get", f"/projects/{project_id}/issues/{iid}/links", f"the links of {project_id}#{iid}"
        )
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
        data = self.session.call(
            "post", f"/projects/{project_ref(project)}/issues", f"open a follow-up in {project}", json=fields
        )
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
            self.session.call(
                "put", f"/projects/{project_id}/issues/{iid}", f"edit follow-up {project_id}#{iid}", json=data
            )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def follow_up_from_api(project_id: int, data: Any) -> FollowUpIssue:
    """GitLab's issue JSON as a FollowUpIssue; UnexpectedAnswer when `iid` or `labels` is missing."""
    what = f"follow-up issue of project {project_id}"
    if not isinstance(data, dict) or not isinstance(data.get("iid"), int) or not isinstance(data.get("labels"), list):
        raise UnexpectedAnswer(what, "`iid` or `labels` missing", data)
    people = [a for a in data.get("assignees") or [] if isinstance(a, dict) and isinstance(a.get("username"), str)]
    due = due_date(_text(data, "due_date"))
    refs = data.get("references")
    full = refs.get("full") if isinstance(refs, dict) else None
    full = full if isinstance(full, str) else ""
    return FollowUpIssue(
        project_id=project_id,
        iid=data["iid"],
        title=_text(data, "title"),
        url=_text(data, "web_url"),
        state="closed" if data.get("state") == "closed" else "opened",
        owner=people[0]["username"] if people else None,
        due_on=due,
        labels=frozenset(str(label) for label in data["labels"]),
        confidential=data.get("confidential") is True,
        opened_at=bounds.parse_time(data.get("created_at")),
        closed_at=bounds.parse_time(data.get("closed_at")),
        updated_at=bounds.parse_time(data.get("updated_at")),
        project_path=full.rpartition("#")[0] if "#" in full else "",
    )


def linked_from_api(data: Any) -> LinkedIssue:
    """One entry of GitLab's issue links as a LinkedIssue; UnexpectedAnswer when it names no issue."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("iid", "project_id")):
        raise UnexpectedAnswer("the links of an issue", "`iid` or `project_id` missing", data)
    raw = data.get("labels")
    labels = raw if isinstance(raw, list) else []
    kind = data.get("issue_type") or data.get("type") or "issue"
    return LinkedIssue(
        project_id=data["project_id"],
        iid=data["iid"],
        title=_text(data, "title"),
        url=_text(data, "web_url"),
        labels=frozenset(str(label) for label in labels),
        issue_type=str(kind).lower(),
        state="closed" if data.get("state") == "closed" else "opened",
        confidential=data.get("confidential") is True,
    )
