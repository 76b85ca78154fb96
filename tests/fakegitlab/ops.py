"""The fake GitLab's routes for what `setup`, `doctor`, `reconcile`, reindex and the digest call.

Projects and groups (by id or path), labels (project and group, inherited ones included), webhooks
(group ones only on "Premium"), a hook's recent deliveries, group `members/all`,
`personal_access_tokens/self`, `version`, and the issue listings (`/issues`, a project's, a group's) with
`labels`, `issue_type`, `state`, `updated_after`, `search`, `confidential`, ordering and pagination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .core import BOT, Answer

HOOK_FIELDS = (
    "url", "name", "description", "push_events", "tag_push_events", "merge_requests_events", "job_events",
    "pipeline_events", "wiki_page_events", "deployment_events", "releases_events", "feature_flag_events",
    "issues_events", "confidential_issues_events", "note_events", "confidential_note_events", "subgroup_events",
    "member_events", "project_events", "enable_ssl_verification",
)  # fmt: skip


def _token() -> dict[str, Any]:
    expires = (date.today() + timedelta(days=365)).isoformat()
    return {"id": 4, "name": "incident-bot", "revoked": False, "active": True, "scopes": ["api"],
            "user_id": BOT["id"], "expires_at": expires}  # fmt: skip


@dataclass
class Ops:
    """Projects, groups, labels, webhooks, the token and the issue listings."""

    # Projects by path (GET /projects/:id-or-path; the alert routes and follow-ups name projects by path).
    projects: dict[str, int] = field(
        default_factory=lambda: {
            "group/project": 1,
            "group/other": 2,
            "ops/production": 1,
            "shop/checkout": 3,
            "gitlabhq/gitlab-test": 1,  # the project of the fixtures' deliveries
        }
    )
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
    token: dict[str, Any] = field(default_factory=_token)

    def add_hook(self, kind: str, owner: int, **fields: Any) -> dict[str, Any]:
        """A hook as someone made it by hand (GitLab's defaults: push events on)."""
        hook = {"id": self.next_id(), "url": "", "push_events": True, "enable_ssl_verification": True,  # type: ignore[attr-defined]  # a FakeGitLab mixin
                "alert_status": "executable", "disabled_until": None, "created_at": self.tick(),  # type: ignore[attr-defined]  # a FakeGitLab mixin
                **{f: False for f in HOOK_FIELDS if f.endswith("_events") and f != "push_events"}}  # fmt: skip
        hook.update(fields)
        self.hooks.setdefault((kind, owner), []).append(hook)
        return hook

    def disable_hook(self, hook: dict[str, Any], *, permanently: bool = False) -> None:
        """What GitLab does after failed deliveries."""
        if permanently:
            hook.update(alert_status="disabled", disabled_until=None)
        else:
            until = self.clock + timedelta(hours=1)  # type: ignore[attr-defined]  # a FakeGitLab mixin
            hook.update(alert_status="temporarily_disabled", disabled_until=until.strftime("%Y-%m-%dT%H:%M:%S.000Z"))

    def enable_hook(self, hook: dict[str, Any]) -> None:
        """A successful test delivery re-enables the hook."""
        hook.update(alert_status="executable", disabled_until=None)

    def all_hooks(self) -> list[dict[str, Any]]:
        return [h for hooks in self.hooks.values() for h in hooks]

    def owner(self, kind: str, ident: str) -> int | None:
        """A project's or group's id from its id or path (a path some issue's reference names counts too)."""
        if ident.isdigit():
            return int(ident)
        names = self.projects if kind == "projects" else self.groups
        if ident not in names:
            for (pid, _), issue in self.issues.items():  # type: ignore[attr-defined]  # a FakeGitLab mixin
                path = issue["references"]["full"].split("#")[0]
                if kind == "projects" and path == ident:
                    names[ident] = pid
                elif kind == "groups" and path.startswith(ident + "/"):
                    names[ident] = 900 + len(names)
        return names.get(ident)

    def ops_route(
        self, method: str, path: str, query: dict[str, str], data: dict[str, Any], headers: dict[str, str]
    ) -> Answer | None:
        if path == "/personal_access_tokens/self" and method == "GET":
            return 200, self.token, {}
        if path == "/users" and method == "GET" and query.get("username") in self.blocked:
            name = query["username"]
            return 200, [{"id": self.users[name], "username": name, "state": "blocked"}], {}  # type: ignore[attr-defined]  # a FakeGitLab mixin
        if path == "/version" and method == "GET":
            return 200, {"version": "18.6.0", "revision": "fake"}, {}
        if path == "/issues" and method == "GET":
            return self.page(self.listing(None, None, query), query)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        m = re.fullmatch(r"/(projects|groups)/([^/]+(?:/[^/]+)*?)(/(?:labels|hooks|issues|members)(?:/.*)?)?", path)
        if not m:
            return None
        kind, rest = m.group(1), m.group(3) or ""
        owner = self.owner(kind, m.group(2))
        if owner is None:
            return 404, {"message": f"404 {kind[:-1].title()} Not Found"}, {}
        return self.owned(kind, owner, method, rest, query, data)

    def owned(
        self, kind: str, owner: int, method: str, rest: str, query: dict[str, str], data: dict[str, Any]
    ) -> Answer | None:
        if rest == "" and method == "GET":
            names = self.projects if kind == "projects" else self.groups
            full = next((p for p, i in names.items() if i == owner), str(owner))
            key = "path_with_namespace" if kind == "projects" else "full_path"
            return 200, {"id": owner, key: full, "name": full.rsplit("/", 1)[-1]}, {}
        if rest.startswith("/labels"):
            return self.labels_route(kind, owner, method, rest, query, data)
        if rest.startswith("/hooks"):
            if kind == "groups" and not self.premium:
                return 404, {"message": "404 Not Found"}, {}
            return self.hooks_route(kind, owner, method, rest, query, data)
        if rest == "/issues" and method == "GET":
            return self.page(self.listing(kind, owner, query), query)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        if rest == "/issues" and method == "POST" and kind == "projects":
            return 201, self.open_issue(owner, data), {}
        m = re.fullmatch(r"/members/all/(\d+)", rest)
        if m and method == "GET" and kind == "groups":
            level = self.members.get(int(m.group(1)))  # type: ignore[attr-defined]  # a FakeGitLab mixin
            return (200, {"id": int(m.group(1)), "access_level": level}, {}) if level else (404, {"message": "404"}, {})
        return None

    def open_issue(self, project_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """`POST /projects/:id/issues` (GitLab's default type `issue`; assignees and a due date as given)."""
        self._next_iid += 1  # type: ignore[attr-defined]  # Core's counter (FakeGitLab mixes both in)
        path = next((p for p, i in self.projects.items() if i == project_id), "group/project")
        issue: dict[str, Any] = self.add_issue(  # type: ignore[attr-defined]  # Core's
            project_id, self._next_iid, title=data.get("title", ""), description=data.get("description", ""),  # type: ignore[attr-defined]  # Core's counter
            labels=[x for x in str(data.get("labels", "")).split(",") if x], issue_type=data.get("issue_type", "issue"),
            path=path, confidential=data.get("confidential") in (True, "true"),
        )  # fmt: skip
        given = {k: v for k, v in data.items() if k in ("assignee_ids", "due_date")}
        return self.update((project_id, issue["iid"]), given) if given else issue  # type: ignore[attr-defined]  # Core's, mixed in by FakeGitLab

    def labels_route(
        self, kind: str, owner: int, method: str, rest: str, query: dict[str, str], data: dict[str, Any]
    ) -> Answer:
        own = (self.project_labels if kind == "projects" else self.group_labels).setdefault(owner, [])
        if rest == "/labels" and method == "GET":
            found = [dict(label, is_project_label=kind == "projects") for label in own]
            group = self.project_group.get(owner) if kind == "projects" else None
            if group is not None and query.get("include_ancestor_groups", "true") == "true":
                found += [dict(label, is_project_label=False) for label in self.group_labels.get(group, [])]
            return self.page(found, query)  # type: ignore[attr-defined]  # Core's, mixed in by FakeGitLab
        if rest == "/labels" and method == "POST":
            if any(label["name"] == data.get("name") for label in own):
                return 409, {"message": "Label already exists"}, {}
            if not re.fullmatch(r"#[0-9A-Fa-f]{6}", str(data.get("color", ""))):
                return 400, {"message": {"color": ["must be a valid color code"]}}, {}
            label = {"id": self.next_id(), "name": data["name"], "color": data["color"],  # type: ignore[attr-defined]  # a FakeGitLab mixin
                     "description": data.get("description") or None}  # fmt: skip
            own.append(label)
            return 201, label, {}
        m = re.fullmatch(r"/labels/(\d+)", rest)
        for label in own if m and method == "PUT" else []:
            if m and label["id"] == int(m.group(1)):
                label.update({k: data[k] for k in ("color", "description") if k in data})
                return 200, label, {}
        return 404, {"message": "404 Label Not Found"}, {}

    def hooks_route(
        self, kind: str, owner: int, method: str, rest: str, query: dict[str, str], data: dict[str, Any]
    ) -> Answer:
        hooks = self.hooks.setdefault((kind, owner), [])
        if rest == "/hooks" and method == "GET":
            return self.page(hooks, query)  # type: ignore[attr-defined]  # Core's, mixed in by FakeGitLab
        if rest == "/hooks" and method == "POST":
            token = data.pop("token", None)
            hook = self.add_hook(kind, owner, **{k: v for k, v in data.items() if k in HOOK_FIELDS})
            if token:
                self.hook_tokens[hook["id"]] = token
            return 201, hook, {}
        m = re.fullmatch(r"/hooks/(\d+)(/events)?", rest)
        hook = next((h for h in hooks if m and h["id"] == int(m.group(1))), None)  # type: ignore[arg-type]  # the POST branch returned
        if hook is None:
            return 404, {"message": "404 Hook Not Found"}, {}
        if m and m.group(2):
            if not self.events_api or method != "GET":
                return 404, {"message": "404 Not found"}, {}
            return self.page(self.hook_events.get(hook["id"], []), query)  # type: ignore[attr-defined]  # Core's, mixed in by FakeGitLab
        if method == "PUT":
            token = data.pop("token", None)
            hook.update({k: v for k, v in data.items() if k in HOOK_FIELDS})
            if token:
                self.hook_tokens[hook["id"]] = token
            return 200, hook, {}
        return (200, hook, {}) if method == "GET" else (404, {"message": "404 Not found"}, {})

    def listing(self, kind: str | None, owner: int | None, query: dict[str, str]) -> list[dict[str, Any]]:
        """The issues of a project, a group or all, filtered and ordered as GitLab's listing does."""
        found = [i for (pid, _), i in self.issues.items() if self.within(kind, owner, pid, i)]  # type: ignore[attr-defined]  # a FakeGitLab mixin
        if query.get("labels"):
            wanted = set(query["labels"].split(","))
            found = [i for i in found if wanted <= set(i["labels"])]
        for name in ("issue_type", "confidential"):
            if query.get(name):
                found = [i for i in found if str(i.get(name)).lower() == query[name]]
        if query.get("state") in ("opened", "closed"):
            found = [i for i in found if i["state"] == query["state"]]
        if query.get("search"):  # GitLab's `search`, in titles or (`in=description`) descriptions, as a substring
            where = query.get("in", "title").split(",")
            found = [i for i in found if any(query["search"] in (i.get(f) or "") for f in where)]
        if query.get("updated_after"):
            after = _parse(query["updated_after"])
            found = [i for i in found if _parse(i["updated_at"]) >= after]
        order = query.get("order_by", "created_at")
        found.sort(key=lambda i: (i.get(order) or "", i["project_id"], i["iid"]), reverse=query.get("sort") != "asc")
        return found

    def within(self, kind: str | None, owner: int | None, pid: int, issue: dict[str, Any]) -> bool:
        if kind is None:
            return True
        if kind == "projects":
            return pid == owner
        path = issue["references"]["full"].split("#")[0]
        group = next((g for g, i in self.groups.items() if i == owner), None)
        return self.project_group.get(pid) == owner or bool(group and path.startswith(group + "/"))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
