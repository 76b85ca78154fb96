"""Issue writes shared by the worker, the operations commands and the digest: the edit's fields, a project's issues."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from .errors import UnexpectedAnswer
from .session import Session


def issue_fields(
    add_labels: Iterable[str] = (),
    remove_labels: Iterable[str] = (),
    assignee_ids: Iterable[int] | None = None,
    state_event: str | None = None,
    confidential: bool | None = None,
) -> dict[str, Any]:
    """The body of one `PUT .../issues/:iid`: only what changes (empty: nothing to write)."""
    data: dict[str, Any] = {}
    if add := sorted(add_labels):
        data["add_labels"] = ",".join(add)
    if remove := sorted(remove_labels):
        data["remove_labels"] = ",".join(remove)
    if assignee_ids is not None:
        data["assignee_ids"] = list(assignee_ids)
    if state_event:
        data["state_event"] = state_event
    if confidential is not None:
        data["confidential"] = confidential
    return data


class ProjectIssues:
    """The issues of one project by path (`group/project`): find one by title, open one, edit its description."""

    def __init__(self, session: Session, project: str):
        self.session = session
        self.project = project
        self.base = f"/projects/{quote(project, safe='')}/issues"

    def find(self, title: str) -> int | None:
        """The iid of the issue with exactly this title, or None (the newest 100 matches are read)."""
        query = {"search": title, "in": "title", "state": "all", "per_page": 100}
        found = self.session.call("get", self.base, f"find the issue {title!r} in {self.project}", query=query)
        try:
            return next((int(i["iid"]) for i in found if i.get("title") == title), None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UnexpectedAnswer(f"the issues of {self.project}", type(exc).__name__, found) from None

    def create(self, title: str, description: str, labels: Iterable[str]) -> dict[str, Any]:
        """Open an issue: GitLab's answer (iid, web_url, ...)."""
        body = {"title": title, "description": description, "labels": ",".join(labels)}
        return _issue(self.session.call("post", self.base, f"open an issue in {self.project}", json=body), self.project)

    def describe(self, iid: int, description: str) -> dict[str, Any]:
        """Replace an issue's description: GitLab's answer."""
        what = f"update {self.project}#{iid}"
        return _issue(self.session.call("put", f"{self.base}/{iid}", what, json={"description": description}), what)


def _issue(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("iid"), int):
        raise UnexpectedAnswer(what, "an issue with an `iid` expected", data)
    return data
