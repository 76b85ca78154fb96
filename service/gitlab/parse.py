"""GitLab's JSON read into the project's types, once: an issue, a note, a user (UnexpectedAnswer if unreadable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..incident import Issue, Note
from ..text import is_username
from .errors import UnexpectedAnswer


@dataclass(frozen=True)
class User:
    """A GitLab user: id and username."""

    id: int
    username: str


def _required(data: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(data, dict):
        raise UnexpectedAnswer(what, f"an object expected, got {type(data).__name__}", data)
    if key not in data:
        raise UnexpectedAnswer(what, f"`{key}` missing", data)
    if not isinstance(data[key], kind) or isinstance(data[key], bool):
        raise UnexpectedAnswer(what, f"`{key}` is {type(data[key]).__name__}", data)
    return data[key]


def issue_from_api(project_id: int, data: dict[str, Any]) -> Issue:
    """The issue as GitLab's REST answer describes it (GET /projects/:id/issues/:iid); UnexpectedAnswer if unreadable.

    `iid` and `labels` are required: an issue read without its labels would look like one that lost them all.
    """
    what = f"issue {project_id}"
    iid = _required(data, "iid", int, what)
    labels = _required(data, "labels", list, what)
    try:
        assignees = [a for a in data.get("assignees") or [] if isinstance(a, dict)]
        author: dict[str, Any] = data["author"] if isinstance(data.get("author"), dict) else {}
        name, ident = author.get("username"), author.get("id")  # the author, where GitLab's answer names one
        return Issue(
            project_id=project_id,
            iid=iid,
            title=str(data.get("title") or ""),
            description=str(data.get("description") or ""),
            state=str(data.get("state") or "opened"),
            labels=frozenset(str(label) for label in labels),
            assignees=tuple(str(a.get("username")) for a in assignees),
            assignee_ids=tuple(int(a["id"]) for a in assignees if a.get("id") is not None),
            confidential=bool(data.get("confidential")),
            web_url=str(data.get("web_url") or ""),
            issue_type=str(data.get("issue_type") or data.get("type") or "issue"),
            severity=data.get("severity") if isinstance(data.get("severity"), str) else None,
            author=name if isinstance(name, str) and is_username(name) else "",
            author_id=ident if type(ident) is int and ident > 0 else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer(what, type(exc).__name__, data) from None


def note_from_api(item: dict[str, Any]) -> Note:
    """A note as GitLab's REST answer describes it; UnexpectedAnswer if unreadable."""
    ident = _required(item, "id", int, "a note")
    try:
        return Note(
            id=ident,
            body=str(item.get("body") or ""),
            author=str((item.get("author") or {}).get("username") or ""),
            created_at=str(item.get("created_at") or ""),
            system=bool(item.get("system")),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer("a note", type(exc).__name__, item) from None


def user_from_api(data: Any, what: str) -> User:
    """A user as GitLab's REST answer describes it (`GET /user`, an item of `GET /users`)."""
    try:
        return User(id=int(data["id"]), username=str(data["username"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedAnswer(what, type(exc).__name__, data) from None


def links_from_api(links: Any, what: str) -> list[tuple[int, str, str]]:
    """An issue's linked issues: (iid, title, web URL) each."""
    try:
        return [(int(i["iid"]), str(i.get("title") or ""), str(i.get("web_url") or "")) for i in links]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer(what, type(exc).__name__, links) from None
