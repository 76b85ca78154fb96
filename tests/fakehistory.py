"""A fake GitLab that keeps an issue's history (label, state events, notes) and serves it over real HTTP.

`FakeHistory` is the model: people open, label, close, reopen and comment at given
times, and each action returns the webhook body GitLab would deliver (`tests/store/fakebot.py`
plays the worker on them, writing back into the same history). `HistoryServer` serves it
over real HTTP for `reindex`. Pages are capped at `max_per_page` so a few events already
span several pages.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakegitlab import JsonServer

BOT: dict[str, Any] = {"id": 99, "username": "incident-bot", "name": "Incident Bot"}
USERS = {"alice": 7, "bob": 8, "carol": 9, "dave": 10, "erin": 11, "incident-bot": 99}


def iso(at: datetime) -> str:
    """GitLab's REST timestamp format."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _user(name: str) -> dict[str, Any]:
    return {"id": USERS[name], "username": name, "name": name.title()}


@dataclass
class FakeHistory:
    """Issues with their resource label events, resource state events and notes."""

    max_per_page: int = 100
    base_url: str = "http://gitlab.test"
    issues: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    label_events: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    state_events: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    # People's actions; each returns the hook body GitLab would deliver.
    def open(
        self,
        key: tuple[int, int],
        at: datetime,
        author: str,
        labels: list[str],
        *,
        title: str = "Checkout returns 500 errors",
        description: str = "",
        confidential: bool = False,
        issue_type: str = "issue",
        path: str = "shop/checkout",
    ) -> dict[str, Any]:
        """A person opens an issue with these labels."""
        pid, iid = key
        self.issues[key] = {
            "id": pid * 100_000 + iid,
            "iid": iid,
            "project_id": pid,
            "title": title,
            "description": description,
            "state": "opened",
            "labels": [],
            "assignees": [],
            "author": _user(author),
            "confidential": confidential,
            "issue_type": issue_type,
            "created_at": iso(at),
            "updated_at": iso(at),
            "web_url": f"{self.base_url}/{path}/-/issues/{iid}",
            "references": {"full": f"{path}#{iid}"},
        }
        self.label_events[key], self.state_events[key], self.notes[key] = [], [], []
        self._labels(key, at, author, add=labels)
        return self._issue_hook(key, author, "open", previous=[])

    def label(
        self, key: tuple[int, int], at: datetime, user: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> dict[str, Any]:
        """A person edits the labels (one edit: GitLab records each label as its own event, same time)."""
        previous = list(self.issues[key]["labels"])
        self._labels(key, at, user, add=list(add), remove=list(remove))
        return self._issue_hook(key, user, "update", previous=previous)

    def close(self, key: tuple[int, int], at: datetime, user: str) -> dict[str, Any]:
        """A person closes the issue."""
        self._state(key, at, user, "closed")
        return self._issue_hook(key, user, "close")

    def reopen(self, key: tuple[int, int], at: datetime, user: str) -> dict[str, Any]:
        """A person reopens the issue."""
        self._state(key, at, user, "reopened")
        return self._issue_hook(key, user, "reopen")

    def comment(self, key: tuple[int, int], at: datetime, user: str, body: str) -> dict[str, Any]:
        """A person comments."""
        note = self._note(key, at, user, body)
        issue = self.issues[key]
        return {
            "object_kind": "note",
            "event_type": "note",
            "user": _user(user),
            "project": {"id": key[0], "path_with_namespace": issue["references"]["full"].split("#")[0]},
            "object_attributes": {
                "id": note["id"],
                "note": body,
                "noteable_type": "Issue",
                "action": "create",
                "author_id": USERS[user],
                "created_at": iso(at).replace("T", " ").split(".")[0] + " UTC",
                "url": issue["web_url"] + f"#note_{note['id']}",
            },
            "issue": {
                "iid": key[1],
                "title": issue["title"],
                "description": issue["description"],
                "labels": [{"title": label} for label in issue["labels"]],
                "state": issue["state"],
                "author_id": issue["author"]["id"],
                "created_at": issue["created_at"],
                "url": issue["web_url"],
                "confidential": issue["confidential"],
                "type": "Incident" if issue["issue_type"] == "incident" else "Issue",
            },
        }

    def system_note(self, key: tuple[int, int], at: datetime, user: str, body: str) -> None:
        """GitLab's own note (no hook is delivered for it)."""
        self._note(key, at, user, body, system=True)

    # Recording.
    def _labels(
        self, key: tuple[int, int], at: datetime, user: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        issue = self.issues[key]
        for name, action in [(n, "remove") for n in remove if n in issue["labels"]] + [
            (n, "add") for n in add if n not in issue["labels"]
        ]:
            self.label_events[key].append(
                {
                    "id": self._id(),
                    "user": _user(user),
                    "created_at": iso(at),
                    "resource_type": "Issue",
                    "resource_id": issue["id"],
                    "label": {"id": abs(hash(name)) % 10_000, "name": name},
                    "action": action,
                }
            )
            if action == "add":
                issue["labels"].append(name)
            else:
                issue["labels"].remove(name)
        issue["updated_at"] = iso(at)

    def _state(self, key: tuple[int, int], at: datetime, user: str, state: str) -> None:
        issue = self.issues[key]
        issue["state"] = "closed" if state == "closed" else "opened"
        issue["updated_at"] = iso(at)
        self.state_events[key].append(
            {"id": self._id(), "user": _user(user), "created_at": iso(at), "resource_type": "Issue", "state": state}
        )

    def _note(self, key: tuple[int, int], at: datetime, user: str, body: str, system: bool = False) -> dict[str, Any]:
        note = {"id": self._id(), "body": body, "author": _user(user), "created_at": iso(at), "system": system}
        self.notes[key].append(note)
        self.issues[key]["updated_at"] = iso(at)
        return note

    def _issue_hook(
        self, key: tuple[int, int], user: str, action: str, previous: list[str] | None = None
    ) -> dict[str, Any]:
        issue = self.issues[key]
        attrs = {
            "iid": key[1],
            "title": issue["title"],
            "description": issue["description"],
            "url": issue["web_url"],
            "state": issue["state"],
            "action": action,
            "confidential": issue["confidential"],
            "author_id": issue["author"]["id"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "type": "Incident" if issue["issue_type"] == "incident" else "Issue",
        }
        payload: dict[str, Any] = {
            "object_kind": "issue",
            "event_type": "issue",
            "user": _user(user),
            "project": {"id": key[0], "path_with_namespace": issue["references"]["full"].split("#")[0]},
            "object_attributes": attrs,
            "labels": [{"title": label} for label in issue["labels"]],
            "assignees": [],
        }
        if previous is not None and action != "open":
            payload["changes"] = {
                "labels": {
                    "previous": [{"title": label} for label in previous],
                    "current": [{"title": label} for label in issue["labels"]],
                }
            }
        return payload

    # The REST API.
    def handle(self, method: str, target: str) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers)."""
        parts = urlsplit(target)
        path = unquote(re.sub(r"^/api/v4", "", parts.path))
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.calls.append((method, path, query))
            if method != "GET":
                return 405, {"message": "read-only fake"}, {}
            if path == "/user":
                return 200, BOT, {}
            match = re.fullmatch(r"/projects/(\d+)/issues/(\d+)(?:/(\w+))?", path)
            if match:
                key = (int(match.group(1)), int(match.group(2)))
                if key not in self.issues:
                    return 404, {"message": "404 Issue Not Found"}, {}
                what = match.group(3)
                if what is None:
                    return 200, self.issues[key], {}
                source = {
                    "resource_label_events": self.label_events,
                    "resource_state_events": self.state_events,
                    "notes": self.notes,
                }.get(what)
                if source is None:
                    return 404, {"message": "404 Not Found"}, {}
                return self._page(list(source[key]), query)
            listing = re.fullmatch(r"/(?:projects/([^/]+)|groups/([^/]+))?/?issues", path)
            if listing:
                return self._page(self._issues(listing.group(1), listing.group(2), query), query)
            return 404, {"message": "404 Not Found"}, {}

    def _issues(self, project: str | None, group: str | None, query: dict[str, str]) -> list[dict[str, Any]]:
        found = []
        for (pid, _), issue in sorted(self.issues.items(), key=lambda kv: (kv[1]["created_at"], kv[0])):
            path = issue["references"]["full"].split("#")[0]
            if project and project not in (str(pid), path):
                continue
            if group and not path.startswith(group.rstrip("/") + "/"):
                continue
            if "labels" in query and not set(query["labels"].split(",")) <= set(issue["labels"]):
                continue
            if "issue_type" in query and issue["issue_type"] != query["issue_type"]:
                continue
            if "updated_after" in query and issue["updated_at"] < query["updated_after"].replace("+00:00", "Z"):
                continue
            found.append(issue)
        return found

    def _page(self, items: list[Any], query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", 20)), self.max_per_page)
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(items)
        return 200, chunk, {"X-Next-Page": str(page + 1) if more else "", "X-Page": str(page)}


class HistoryServer(JsonServer):
    """FakeHistory behind a real HTTP/1.1 server on 127.0.0.1."""

    def __init__(self, model: FakeHistory):
        self.model = model
        super().__init__(lambda method, path, body, headers: model.handle(method, path))
