"""A small fake of the GitLab REST API the bot uses: one model, served by `responses` or a real HTTP server."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

BOT: dict[str, Any] = {"id": 99, "username": "incident-bot", "name": "Incident Bot"}


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.body if self.body else ''}"


@dataclass
class FakeGitLab:
    """Issues, notes, users and members of a pretend GitLab, and every call made to it."""

    users: dict[str, int] = field(
        default_factory=lambda: {
            "alice": 7,
            "bob": 8,
            "mallory": 13,
            "im-alice": 21,
            "im-bob": 22,
            "eoc-carol": 23,
            "eoc-dave": 24,
            "cmoc-erin": 25,
            "sirt-frank": 26,
            "sirt-grace": 27,
            "db-heidi": 28,
            BOT["username"]: BOT["id"],
        }
    )
    members: dict[int, int] = field(default_factory=lambda: {7: 40, 8: 30, 21: 40, 23: 30})
    # Projects by path (GET /projects/:id-or-path; the alert routes name projects by path).
    projects: dict[str, int] = field(
        default_factory=lambda: {"group/project": 1, "group/other": 2, "ops/production": 1, "shop/checkout": 3}
    )
    issues: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    links: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path regex, status), used once
    delay: dict[tuple[str, str], float] = field(default_factory=dict)  # (method, path regex) -> seconds
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: str = "2026-11-27T10:00:00Z"  # what the fake writes as `updated_at` and `closed_at`
    _next_note: int = 1000
    _next_iid: int = 500

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
    ) -> dict[str, Any]:
        issue = {
            "id": 10_000 + iid,
            "iid": iid,
            "project_id": project_id,
            "title": title,
            "description": description,
            "state": state,
            "labels": list(labels or []),
            "assignees": [],
            "confidential": confidential,
            "issue_type": "incident",
            "severity": "UNKNOWN",
            "web_url": f"http://gitlab.test/group/project/-/issues/{iid}",
            "due_date": None,
            "created_at": "2026-11-27T09:00:00Z",
            "updated_at": "2026-11-27T09:00:00Z",
            "closed_at": None,
            "references": {"full": f"{self.path_of(project_id)}#{iid}"},
        }
        self.issues[(project_id, iid)] = issue
        self.notes.setdefault((project_id, iid), [])
        return issue

    def path_of(self, project_id: int) -> str:
        return next((path for path, pid in self.projects.items() if pid == project_id), f"group/p{project_id}")

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
    def handle(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
        parts = urlsplit(url)
        path = re.sub(r"^/api/v4", "", parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        data: dict[str, Any] = {}
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                data = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            self.calls.append(Call(method, path, query, data, dict(headers)))
            for i, (m, rx, status) in enumerate(self.failures):
                if m == method and re.fullmatch(rx, path):
                    del self.failures[i]
                    return status, {"message": f"injected {status}"}
            wait = next((s for (m, rx), s in self.delay.items() if m == method and re.fullmatch(rx, path)), 0)
        if wait:
            time.sleep(wait)
        with self.lock:
            return self._route(method, path, query, data)

    def _route(self, method: str, path: str, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        # An issue of a project named by its URL-encoded path (`group%2Fproject`), as GitLab accepts it.
        named = re.fullmatch(r"/projects/([^/]*%2F[^/]*)(/issues.*)", path)
        if named and unquote(named[1]) in self.projects:
            path = f"/projects/{self.projects[unquote(named[1])]}{named[2]}"
        if path == "/user" and method == "GET":
            return 200, BOT
        if path == "/users" and method == "GET":
            uid = self.users.get(query.get("username", ""))
            return 200, ([{"id": uid, "username": query["username"]}] if uid else [])
        if path == "/graphql" or path.endswith("/api/graphql"):
            return 200, {"data": {"issueSetSeverity": {"errors": []}}}
        m = re.fullmatch(r"/projects/(\d+)/members/all/(\d+)", path)
        if m and method == "GET":
            level = self.members.get(int(m.group(2)))
            return (200, {"id": int(m.group(2)), "access_level": level}) if level else (404, {"message": "404"})
        m = re.fullmatch(r"/projects/([^/]+)", path)
        if m and method == "GET":  # a project by id or URL-encoded path
            ref = unquote(m.group(1))
            pid = int(ref) if ref.isdigit() else self.projects.get(ref)
            if not pid:
                return 404, {"message": "404 Project Not Found"}
            path_of = {v: k for k, v in self.projects.items()}
            return 200, {"id": pid, "path_with_namespace": path_of.get(pid, ref)}
        m = re.fullmatch(r"/projects/(\d+)/issues", path)
        if m and method == "GET":  # the listing; `search` (titles, `in=description`) as a substring
            wanted, where = query.get("search", ""), query.get("in", "title").split(",")
            found = [
                i
                for (p, _), i in sorted(self.issues.items())
                if p == int(m.group(1)) and any(wanted in (i.get(f) or "") for f in where)
            ]
            return 200, found
        if m and method == "POST":
            pid = int(m.group(1))
            self._next_iid += 1
            issue = self.add_issue(
                pid,
                self._next_iid,
                title=data.get("title", ""),
                labels=[x for x in str(data.get("labels", "")).split(",") if x],
                description=data.get("description", ""),
                confidential=data.get("confidential") in (True, "true"),
            )
            issue["issue_type"] = data.get("issue_type", "issue")  # GitLab's default type
            issue["created_at"] = issue["updated_at"] = self.now
            self._update(issue, {k: v for k, v in data.items() if k in ("assignee_ids", "due_date")})
            return 201, issue
        m = re.fullmatch(r"/projects/(\d+)/issues/(\d+)(/.*)?", path)
        if not m:
            return 404, {"message": "404 Not found"}
        key = (int(m.group(1)), int(m.group(2)))
        rest = m.group(3) or ""
        if key not in self.issues:
            return 404, {"message": "404 Issue Not Found"}
        issue = self.issues[key]
        if rest == "" and method == "GET":
            return 200, issue
        if rest == "" and method == "PUT":
            return 200, self._update(issue, data)
        if rest == "/notes" and method == "GET":
            notes = sorted(self.notes[key], key=lambda n: n["id"], reverse=query.get("sort") != "asc")
            per, page = int(query.get("per_page", 20)), int(query.get("page", 1))
            return 200, notes[(page - 1) * per : page * per]
        if rest == "/notes" and method == "POST":
            return 201, self.add_note(key, data["body"], BOT["username"])
        m2 = re.fullmatch(r"/notes/(\d+)", rest)
        if m2 and method == "GET":
            note = next((n for n in self.notes[key] if n["id"] == int(m2.group(1))), None)
            return (200, note) if note else (404, {"message": "404 Note Not Found"})
        if m2 and method == "PUT":
            for note in self.notes[key]:
                if note["id"] == int(m2.group(1)):
                    note["body"] = data["body"]
                    return 200, note
            return 404, {"message": "404 Note Not Found"}
        if rest == "/links" and method == "POST":  # links go both ways, as in GitLab
            target = (int(data.get("target_project_id", key[0])), int(data["target_issue_iid"]))
            self.links.setdefault(key, []).append(target)
            self.links.setdefault(target, []).append(key)
            return 201, {"source_issue": issue, "target_issue": self.issues.get(target, {"iid": target[1]})}
        if rest == "/links" and method == "GET":
            return 200, [self.issues[t] for t in dict.fromkeys(self.links.get(key, [])) if t in self.issues]
        return 404, {"message": "404 Not found"}

    def add_note(self, key: tuple[int, int], body: str, author: str) -> dict[str, Any]:
        self._next_note += 1
        note = {
            "id": self._next_note,
            "body": body,
            "author": {"username": author, "id": self.users.get(author)},
            "system": False,
            "created_at": "2026-11-27T10:00:00Z",
        }
        self.notes.setdefault(key, []).append(note)
        return note

    def _update(self, issue: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        labels = list(issue["labels"])
        for label in _split(data.get("remove_labels")):
            if label in labels:
                labels.remove(label)
        for label in _split(data.get("add_labels")):
            if label not in labels:
                labels.append(label)
        issue["labels"] = labels
        if "description" in data:
            issue["description"] = data["description"]
        if "assignee_ids" in data:
            ids = data["assignee_ids"] if isinstance(data["assignee_ids"], list) else [data["assignee_ids"]]
            names = {v: k for k, v in self.users.items()}
            issue["assignees"] = [{"id": int(i), "username": names.get(int(i), str(i))} for i in ids]
        if "confidential" in data:
            issue["confidential"] = data["confidential"] in (True, "true")
        if "due_date" in data:
            issue["due_date"] = data["due_date"] or None
        if data.get("state_event") == "close":
            issue["state"] = "closed"
            issue["closed_at"] = self.now
        elif data.get("state_event") == "reopen":
            issue["state"], issue["closed_at"] = "opened", None
        issue["updated_at"] = self.now
        return issue


def _split(value: Any) -> list[str]:
    if not value:
        return []
    return [v for v in (value if isinstance(value, list) else str(value).split(",")) if v]


def install_responses(rsps: Any, fake: FakeGitLab, base: str = "http://gitlab.test") -> None:
    """Route every request to `base` through the fake (the `responses` library, in process)."""

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        status, payload = fake.handle(request.method, request.url, body, dict(request.headers))
        return status, {"Content-Type": "application/json"}, json.dumps(payload)

    pattern = re.compile(re.escape(base) + r"/.*")
    for method in ("GET", "POST", "PUT", "DELETE"):
        rsps.add_callback(method, pattern, callback=callback)


# What a JSON fake answers a request (method, path, body, headers): status, JSON payload, extra headers.
Answer = Callable[[str, str, bytes | None, dict[str, str]], tuple[int, Any, dict[str, str]]]


class JsonServer:
    """A fake answering JSON behind a real HTTP/1.1 server on 127.0.0.1: `with` starts and stops it."""

    def __init__(self, answer: Answer):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for a delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, payload, headers = answer(self.command, self.path, body, dict(self.headers))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeGitLabServer(JsonServer):
    """The fake behind a real HTTP server on 127.0.0.1, for tests that run the real processes."""

    def __init__(self, fake: FakeGitLab | None = None):
        self.fake = model = fake or FakeGitLab()
        super().__init__(lambda method, path, body, headers: (*model.handle(method, path, body, headers), {}))
