"""The fake GitLab, extended with what `setup`, `doctor` and `reconcile` call.

Labels (project and group, inherited ones included), project and group webhooks (group ones only on
"Premium"), a hook's recent deliveries, `members/all`, `personal_access_tokens/self`, and the issue
listing with `labels`, `issue_type`, `updated_after`, `state` and pagination. Issues carry an
`updated_at` that every write moves forward, as GitLab's does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from tests.fakegitlab import BOT, FakeGitLab

HOOK_FIELDS = (
    "url",
    "name",
    "description",
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "releases_events",
    "feature_flag_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "subgroup_events",
    "member_events",
    "project_events",
    "enable_ssl_verification",
)


def stamp(moment: datetime) -> str:
    """GitLab's timestamp format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class FakeOps(FakeGitLab):
    """A FakeGitLab with labels, webhooks, tokens and issue listing."""

    projects: dict[str, int] = field(default_factory=lambda: {"group/project": 1})
    groups: dict[str, int] = field(default_factory=lambda: {"group": 5})
    project_group: dict[int, int] = field(default_factory=lambda: {1: 5})
    premium: bool = False  # group webhooks answer 404 on Free
    events_api: bool = True  # GET .../hooks/:id/events (GitLab 17.x+)
    project_labels: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    group_labels: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    hooks: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    hook_tokens: dict[int, str] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)  # usernames GitLab answers as `state: blocked`
    hook_events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    token: dict[str, Any] = field(
        default_factory=lambda: {
            "id": 4,
            "name": "incident-bot",
            "revoked": False,
            "active": True,
            "scopes": ["api"],
            "user_id": BOT["id"],
            "expires_at": (date.today() + timedelta(days=365)).isoformat(),
        }
    )
    # Real time (to the second), moved on by every write: `--since 2h` and "since the last pass" see these issues.
    clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    _next_id: int = 300

    def __post_init__(self) -> None:
        self.members.setdefault(BOT["id"], 30)
        for uid in range(21, 29):  # the test rules' rotation people (tests/rulesdir.py), Developers
            self.members.setdefault(uid, 30)

    # Test set-up.
    def tick(self) -> str:
        """Move the fake's clock one second and return the new time."""
        self.clock += timedelta(seconds=1)
        return stamp(self.clock)

    def add_issue(self, project_id: int = 1, iid: int = 23, **kwargs: Any) -> dict[str, Any]:
        """An issue with GitLab's timestamps; `issue_type` may be given (default incident)."""
        issue_type = kwargs.pop("issue_type", "incident")
        issue = super().add_issue(project_id, iid, **kwargs)
        issue["issue_type"] = issue_type
        issue["type"] = issue_type.upper()
        issue["created_at"] = issue["updated_at"] = self.tick()
        issue["references"] = {"full": f"group/project#{iid}"}
        return issue

    def add_hook(self, kind: str, owner: int, **fields: Any) -> dict[str, Any]:
        """A hook as someone made it by hand (GitLab's defaults: push events on)."""
        self._next_id += 1
        hook = {
            "id": self._next_id,
            "url": "",
            "push_events": True,
            "enable_ssl_verification": True,
            "alert_status": "executable",
            "disabled_until": None,
            "created_at": self.tick(),
            **{f: False for f in HOOK_FIELDS if f.endswith("_events") and f != "push_events"},
        }
        hook.update(fields)
        self.hooks.setdefault((kind, owner), []).append(hook)
        return hook

    def disable_hook(self, hook: dict[str, Any], *, permanently: bool = False) -> None:
        """What GitLab does after failed deliveries."""
        if permanently:
            hook.update(alert_status="disabled", disabled_until=None)
        else:
            hook.update(alert_status="temporarily_disabled", disabled_until=stamp(self.clock + timedelta(hours=1)))

    def enable_hook(self, hook: dict[str, Any]) -> None:
        """A successful test delivery re-enables the hook."""
        hook.update(alert_status="executable", disabled_until=None)

    # What tests assert on.
    def all_hooks(self) -> list[dict[str, Any]]:
        return [h for hooks in self.hooks.values() for h in hooks]

    # The API.
    def _route(self, method: str, path: str, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        routed = self._ops(method, path, query, data)
        if routed is not None:
            return routed
        status, payload = super()._route(method, path, query, data)
        m = re.fullmatch(r"/projects/(\d+)/issues/(\d+)(/.*)?", path)
        if m and method != "GET" and 200 <= status < 300:
            # Any change to an issue or its notes moves the issue's updated_at, as in GitLab.
            issue = self.issues.get((int(m.group(1)), int(m.group(2))))
            if issue is not None:
                issue["updated_at"] = self.tick()
        if re.fullmatch(r"/projects/(\d+)/issues", path) and method == "POST" and status == 201:
            payload.update(updated_at=self.tick(), created_at=stamp(self.clock), issue_type="issue", type="ISSUE")
        return status, payload

    def _owner(self, kind: str, ident: str) -> int | None:
        ident = unquote(ident)
        if ident.isdigit():
            return int(ident)
        return (self.projects if kind == "projects" else self.groups).get(ident)

    def _ops(self, method: str, path: str, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any] | None:
        if path == "/personal_access_tokens/self" and method == "GET":
            return 200, self.token
        if path == "/users" and method == "GET" and query.get("username") in self.blocked:
            name = query["username"]
            return 200, [{"id": self.users[name], "username": name, "state": "blocked"}]
        if path == "/version" and method == "GET":
            return 200, {"version": "18.6.0", "revision": "fake"}
        m = re.fullmatch(r"/(projects|groups)/([^/]+)(/.*)?", path)
        if not m:
            return None
        kind, rest = m.group(1), m.group(3) or ""
        owner = self._owner(kind, m.group(2))
        if owner is None:
            return 404, {"message": f"404 {kind[:-1].title()} Not Found"}
        if rest == "" and method == "GET":
            names = self.projects if kind == "projects" else self.groups
            full = next((p for p, i in names.items() if i == owner), str(owner))
            key = "path_with_namespace" if kind == "projects" else "full_path"
            return 200, {"id": owner, key: full, "name": full.rsplit("/", 1)[-1]}
        if rest.startswith("/labels"):
            return self._labels(kind, owner, method, rest, query, data)
        if rest.startswith("/hooks"):
            if kind == "groups" and not self.premium:
                return 404, {"message": "404 Not Found"}
            return self._hooks(kind, owner, method, rest, query, data)
        if rest == "/issues" and method == "GET":
            return 200, self._page(self._list_issues(kind, owner, query), query)
        m2 = re.fullmatch(r"/members/all/(\d+)", rest)
        if m2 and method == "GET" and kind == "groups":
            level = self.members.get(int(m2.group(1)))
            return (200, {"id": int(m2.group(1)), "access_level": level}) if level else (404, {"message": "404"})
        return None

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        per, page = int(query.get("per_page", 20)), int(query.get("page", 1))
        return items[(page - 1) * per : page * per]

    def _labels(
        self, kind: str, owner: int, method: str, rest: str, query: dict[str, str], data: dict[str, Any]
    ) -> tuple[int, Any]:
        own = (self.project_labels if kind == "projects" else self.group_labels).setdefault(owner, [])
        if rest == "/labels" and method == "GET":
            found = [dict(label, is_project_label=kind == "projects") for label in own]
            group = self.project_group.get(owner) if kind == "projects" else None
            if group is not None and query.get("include_ancestor_groups", "true") == "true":
                found += [dict(label, is_project_label=False) for label in self.group_labels.get(group, [])]
            return 200, self._page(found, query)
        if rest == "/labels" and method == "POST":
            if any(label["name"] == data.get("name") for label in own):
                return 409, {"message": "Label already exists"}
            if not re.fullmatch(r"#[0-9A-Fa-f]{6}", str(data.get("color", ""))):
                return 400, {"message": {"color": ["must be a valid color code"]}}
            self._next_id += 1
            label = {
                "id": self._next_id,
                "name": data["name"],
                "color": data["color"],
                "description": data.get("description") or None,
            }
            own.append(label)
            return 201, label
        m = re.fullmatch(r"/labels/(\d+)", rest)
        if m and method == "PUT":
            for label in own:
                if label["id"] == int(m.group(1)):
                    label.update({k: data[k] for k in ("color", "description") if k in data})
                    return 200, label
            return 404, {"message": "404 Label Not Found"}
        return 404, {"message": "404 Not found"}

    def _hooks(
        self, kind: str, owner: int, method: str, rest: str, query: dict[str, str], data: dict[str, Any]
    ) -> tuple[int, Any]:
        hooks = self.hooks.setdefault((kind, owner), [])
        if rest == "/hooks" and method == "GET":
            return 200, self._page(hooks, query)
        if rest == "/hooks" and method == "POST":
            token = data.pop("token", None)
            created = self.add_hook(kind, owner, **{k: v for k, v in data.items() if k in HOOK_FIELDS})
            if token:
                self.hook_tokens[created["id"]] = token
            return 201, created
        m = re.fullmatch(r"/hooks/(\d+)(/events)?", rest)
        hook = next((h for h in hooks if m and h["id"] == int(m.group(1))), None)
        if hook is None:
            return 404, {"message": "404 Hook Not Found"}
        if m and m.group(2):
            if not self.events_api or method != "GET":
                return 404, {"message": "404 Not found"}
            return 200, self._page(self.hook_events.get(hook["id"], []), query)
        if method == "PUT":
            token = data.pop("token", None)
            hook.update({k: v for k, v in data.items() if k in HOOK_FIELDS})
            if token:
                self.hook_tokens[hook["id"]] = token
            return 200, hook
        if method == "GET":
            return 200, hook
        return 404, {"message": "404 Not found"}

    def _list_issues(self, kind: str, owner: int, query: dict[str, str]) -> list[dict[str, Any]]:
        projects = {owner} if kind == "projects" else {p for p, g in self.project_group.items() if g == owner}
        found = [i for (pid, _), i in self.issues.items() if pid in projects]
        if query.get("labels"):
            wanted = set(query["labels"].split(","))
            found = [i for i in found if wanted <= set(i["labels"])]
        if query.get("issue_type"):
            found = [i for i in found if i.get("issue_type") == query["issue_type"]]
        if query.get("state") in ("opened", "closed"):
            found = [i for i in found if i["state"] == query["state"]]
        if query.get("updated_after"):
            after = _parse(query["updated_after"])
            found = [i for i in found if _parse(i["updated_at"]) >= after]
        found.sort(key=lambda i: (i["updated_at"], i["iid"]), reverse=query.get("sort", "desc") == "desc")
        return found


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
