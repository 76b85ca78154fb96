"""The fake GitLab's model and its core REST routes: the bot's user, users, members, issues, notes, links, events.

One model for every test: the worker's, the operations commands', reindex's, the digest's and the board
sign-in's calls all land here, in process (`responses`) or over real HTTP (`serve.FakeGitLabServer`).
Each call is recorded (`Call`, with when it started and ended) and may be slowed (`latency`, `delay`) or
failed (`fail`). Writes stamp the issue's `updated_at` and its resource events with the fake's `clock`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .limits import too_long

BOT: dict[str, Any] = {"id": 99, "username": "incident-bot", "name": "Incident Bot"}
USERS = {
    "alice": 7, "bob": 8, "carol": 9, "dave": 10, "erin": 11, "mallory": 13, "im-alice": 21, "im-bob": 22,
    "eoc-carol": 23, "eoc-dave": 24, "cmoc-erin": 25, "sirt-frank": 26, "sirt-grace": 27, "db-heidi": 28,
    BOT["username"]: BOT["id"],
}  # fmt: skip
Answer = tuple[int, Any, dict[str, str]]  # status, JSON payload, extra headers


def iso(at: datetime) -> str:
    """GitLab's REST timestamp format."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


stamp = iso


@dataclass
class Call:
    """One request the fake received, and when (time.monotonic) it started and was answered."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    headers: dict[str, str]
    started: float = 0.0
    ended: float = 0.0

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.body if self.body else ''}"


@dataclass
class Core:
    """Issues, notes, users, members, links and resource events, and every call made."""

    users: dict[str, int] = field(default_factory=lambda: dict(USERS))
    members: dict[int, int] = field(default_factory=lambda: {7: 40, 8: 30, 21: 40, 23: 30})
    issues: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    links: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    label_events: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    state_events: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path regex, status), used once
    delay: dict[tuple[str, str], float] = field(default_factory=dict)  # (method, path regex) -> seconds
    latency: float = 0.0  # seconds added to every call (the round-trip tests and bench/roundtrips.py)
    max_per_page: int = 100
    single_assignee: bool = False  # GitLab Free: an issue keeps its first assignee only (REST and GraphQL)
    base_url: str = "http://gitlab.test"
    # Real time (to the second); `auto_tick` moves it a second on every write, as GitLab's updated_at moves.
    clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    auto_tick: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 1000
    _next_iid: int = 500

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def tick(self) -> str:
        """The time of a write: the clock, moved a second first when `auto_tick`."""
        if self.auto_tick:
            self.clock += timedelta(seconds=1)
        return iso(self.clock)

    def user(self, name: str) -> dict[str, Any]:
        """A user as GitLab's answers embed one."""
        return {"id": self.users.get(name), "username": name, "name": name.title()}

    # Test set-up.
    def add_issue(
        self,
        project_id: int = 1,
        iid: int = 23,
        *,
        labels: list[str] | None = None,
        title: str = "Checkout returns 500 errors",
        state: str = "opened",
        confidential: bool = False,
        description: str = "",
        issue_type: str = "incident",
        author: str | None = None,
        path: str = "group/project",
    ) -> dict[str, Any]:
        now = self.tick()
        issue = {
            "id": project_id * 100_000 + iid,
            "iid": iid,
            "project_id": project_id,
            "title": title,
            "description": description,
            "state": state,
            "labels": list(labels or []),
            "assignees": [],
            "confidential": confidential,
            "issue_type": issue_type,
            "type": issue_type.upper(),
            "severity": "UNKNOWN",
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "due_date": None,
            "web_url": f"{self.base_url}/{path}/-/issues/{iid}",
            "references": {"full": f"{path}#{iid}"},
        }
        if author is not None:
            issue["author"] = self.user(author)
        self.issues[(project_id, iid)] = issue
        for book in (self.notes, self.label_events, self.state_events):
            book.setdefault((project_id, iid), [])
        return issue

    def fail(self, method: str, path_regex: str, status: int, times: int = 1) -> None:
        """The next `times` matching requests answer `status`."""
        self.failures += [(method, path_regex, status)] * times

    # What tests assert on.
    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.is_write]

    def bot_notes(self, project_id: int = 1, iid: int = 23) -> list[dict[str, Any]]:
        return [n for n in self.notes.get((project_id, iid), []) if n["author"]["username"] == BOT["username"]]

    def labels(self, project_id: int = 1, iid: int = 23) -> set[str]:
        return set(self.issues[(project_id, iid)]["labels"])

    # The API.
    def handle(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """Answer one request: (status, JSON payload, extra headers)."""
        parts = urlsplit(url)
        path = unquote(re.sub(r"^/api/v4", "", parts.path))
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        data = _body(body)
        call = Call(method, path, query, data, dict(headers), started=time.monotonic())
        with self.lock:
            self.calls.append(call)
            failed = self._injected(method, path, _operation(data))
            wait = self.latency + next(
                (s for (m, rx), s in self.delay.items() if m == method and re.fullmatch(rx, path)), 0
            )
        if wait:
            time.sleep(wait)
        try:
            if failed is not None:
                return failed, {"message": f"injected {failed}"}, {}
            with self.lock:
                return self.route(method, path, query, data, headers)
        finally:
            call.ended = time.monotonic()

    def _injected(self, method: str, path: str, operation: str) -> int | None:
        """A failure injected for this call: its path, or for GraphQL `/api/graphql#<mutation>` too."""
        for i, (m, rx, status) in enumerate(self.failures):
            if m == method and (re.fullmatch(rx, path) or (operation and re.fullmatch(rx, f"{path}#{operation}"))):
                del self.failures[i]
                return status
        return None

    def route(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> Answer:
        """GitLab's length limits first, then the mixins' routes in turn (oauth, graphql, merge requests,
        deployments, ops), then the core's."""
        refused = too_long(method, data)
        if refused is not None:
            return refused
        routes_in_turn = (self.oauth_route, self.graphql_route, self.mr_route, self.deployments_route, self.ops_route)  # type: ignore[attr-defined]  # FakeGitLab mixins
        for routes in routes_in_turn:
            found = routes(method, path, query, data, headers)
            if found is not None:
                return found
        found = self.core_route(method, path, query, data)
        return found if found is not None else (404, {"message": "404 Not found"}, {})

    def core_route(self, method: str, path: str, query: dict[str, str], data: dict[str, Any]) -> Answer | None:
        if path == "/user" and method == "GET":
            return 200, BOT, {}
        if path == "/users" and method == "GET":
            uid = self.users.get(query.get("username", ""))
            return 200, ([{"id": uid, "username": query["username"]}] if uid else []), {}
        m = re.fullmatch(r"/projects/(\d+)/members/all/(\d+)", path)
        if m and method == "GET":
            level = self.members.get(int(m.group(2)))
            found = {"id": int(m.group(2)), "access_level": level}
            return (200, found, {}) if level else (404, {"message": "404"}, {})
        m = re.fullmatch(r"/projects/(\d+)/issues/(\d+)(/.*)?", path)
        named = None if m else re.fullmatch(r"/projects/(.+?)/issues/(\d+)(/.*)?", path)
        if named and (pid := self.owner("projects", named.group(1))) is not None:  # type: ignore[attr-defined]  # Ops'
            numbered = f"/projects/{pid}/issues/{named.group(2)}{named.group(3) or ''}"
            m = re.fullmatch(r"/projects/(\d+)/issues/(\d+)(/.*)?", numbered)
        if not m:
            return None
        key = (int(m.group(1)), int(m.group(2)))
        if key not in self.issues:
            return 404, {"message": "404 Issue Not Found"}, {}
        return self.issue_route(method, key, m.group(3) or "", query, data)

    def issue_route(
        self, method: str, key: tuple[int, int], rest: str, query: dict[str, str], data: dict[str, Any]
    ) -> Answer:
        issue = self.issues[key]
        if rest == "" and method == "GET":
            return 200, issue, {}
        if rest == "" and method == "PUT":
            return 200, self.update(key, data), {}
        if rest == "/notes" and method == "GET":
            notes = sorted(self.notes[key], key=lambda n: n["id"], reverse=query.get("sort", "desc") != "asc")
            return self.page(notes, query)
        if rest == "/notes" and method == "POST":
            return 201, self.add_note(key, data["body"], BOT["username"]), {}
        if rest in ("/resource_label_events", "/resource_state_events") and method == "GET":
            return self.page(list((self.label_events if "label" in rest else self.state_events)[key]), query)
        m = re.fullmatch(r"/notes/(\d+)", rest)
        note = next((n for n in self.notes[key] if m and n["id"] == int(m.group(1))), None)
        if m and note is None:
            return 404, {"message": "404 Note Not Found"}, {}
        if note is not None and method == "GET":
            return 200, note, {}
        if note is not None and method == "PUT":
            note["body"] = data["body"]
            issue["updated_at"] = self.tick()
            return 200, note, {}
        if rest == "/links" and method == "POST":  # links go both ways, as in GitLab
            target = (int(data.get("target_project_id", key[0])), int(data["target_issue_iid"]))
            self.links.setdefault(key, []).append(target)
            self.links.setdefault(target, []).append(key)
            return 201, {"source_issue": issue, "target_issue": self.issues.get(target, {"iid": target[1]})}, {}
        if rest == "/links" and method == "GET":
            return 200, [self.issues[t] for t in dict.fromkeys(self.links.get(key, [])) if t in self.issues], {}
        return 404, {"message": "404 Not found"}, {}

    def page(self, items: list[Any], query: dict[str, str]) -> Answer:
        """One page of a listing, with GitLab's `X-Page` and `X-Next-Page` headers."""
        per_page = min(int(query.get("per_page", 20)), self.max_per_page)
        number = int(query.get("page", 1))
        chunk = items[(number - 1) * per_page : number * per_page]
        more = number * per_page < len(items)
        return 200, chunk, {"X-Next-Page": str(number + 1) if more else "", "X-Page": str(number)}

    def add_note(
        self, key: tuple[int, int], body: str, author: str, *, system: bool = False, at: str | None = None
    ) -> dict[str, Any]:
        at = at or self.tick()
        note = {"id": self.next_id(), "body": body, "author": self.user(author), "system": system, "created_at": at}
        self.notes.setdefault(key, []).append(note)
        if key in self.issues:
            self.issues[key]["updated_at"] = at
        return note

    def update(self, key: tuple[int, int], data: dict[str, Any], user: str = BOT["username"]) -> dict[str, Any]:
        """An issue edit (the REST `PUT`): labels with their events, assignees, confidentiality, state."""
        issue, at = self.issues[key], self.tick()
        self.relabel(key, at, user, _split(data.get("add_labels")), _split(data.get("remove_labels")))
        if "description" in data:
            issue["description"] = data["description"]
        if "assignee_ids" in data:
            ids = data["assignee_ids"] if isinstance(data["assignee_ids"], list) else [data["assignee_ids"]]
            names = {v: k for k, v in self.users.items()}
            ids = ids[:1] if self.single_assignee else ids
            issue["assignees"] = [{"id": int(i), "username": names.get(int(i), str(i))} for i in ids]
        if "confidential" in data:
            issue["confidential"] = data["confidential"] in (True, "true")
        if "due_date" in data:
            issue["due_date"] = data["due_date"] or None
        if data.get("state_event") in ("close", "reopen"):
            self.set_state(key, at, user, "closed" if data["state_event"] == "close" else "reopened")
        issue["updated_at"] = at
        return issue

    def relabel(self, key: tuple[int, int], at: str, user: str, add: list[str], remove: list[str]) -> None:
        """Labels removed, then added, each its own resource label event at `at` (as GitLab records one edit)."""
        issue = self.issues[key]
        changes = [(n, "remove") for n in remove if n in issue["labels"]]
        changes += [(n, "add") for n in dict.fromkeys(add) if n not in issue["labels"]]
        for name, action in changes:
            event = {"id": self.next_id(), "user": self.user(user), "created_at": at, "resource_type": "Issue",
                     "resource_id": issue["id"], "label": {"id": abs(hash(name)) % 10_000, "name": name},
                     "action": action}  # fmt: skip
            self.label_events.setdefault(key, []).append(event)
            if action == "add":
                issue["labels"].append(name)
            else:
                issue["labels"].remove(name)
        issue["updated_at"] = at

    def set_state(self, key: tuple[int, int], at: str, user: str, state: str) -> None:
        """Close or reopen, with its resource state event."""
        issue = self.issues[key]
        if (state == "closed") == (issue["state"] == "closed"):
            return
        issue["state"] = "closed" if state == "closed" else "opened"
        issue["closed_at"] = at if state == "closed" else None
        issue["updated_at"] = at
        event = {"id": self.next_id(), "user": self.user(user), "created_at": at, "resource_type": "Issue"}
        self.state_events.setdefault(key, []).append({**event, "state": state})


def _body(body: bytes | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {k: v[-1] for k, v in parse_qs(body.decode()).items()}
    return data if isinstance(data, dict) else {"_": data}


def _operation(data: dict[str, Any]) -> str:
    """A GraphQL document's first field (the mutation's name), or ""."""
    found = re.search(r"\{\s*(\w+)", str(data.get("query", "")))
    return found.group(1) if found else ""


def _split(value: Any) -> list[str]:
    if not value:
        return []
    return [v for v in (value if isinstance(value, list) else str(value).split(",")) if v]
