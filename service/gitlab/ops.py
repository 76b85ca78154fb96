"""The GitLab calls the operations commands make (labels, hooks, members, tokens, issue listing), over the Session.

Kept apart from the delivery client, whose Protocol lists what the delivery job needs: these calls run from
the command line and the scheduler, answer a person, and must fail fast rather than retry for minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .errors import GitLabError
from .session import PAGE, Session

RETRIES = 2  # a person is waiting: two quick retries of a 5xx/429, then say what failed


@dataclass(frozen=True)
class Namespace:
    """A project or a group, as the API paths name them."""

    kind: str  # "projects" or "groups"
    id: int
    path: str

    @property
    def base(self) -> str:
        """The API path prefix, e.g. `/projects/12`."""
        return f"/{self.kind}/{self.id}"


class OpsGitLab:
    """The handful of REST calls `setup`, `doctor` and `reconcile` make."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0, session: Session | None = None):
        self.url = url.rstrip("/")
        self.session = session or Session(self.url, token=token or None, timeout=timeout, retries=RETRIES)

    def _call(self, what: str, verb: str, path: str, **kwargs: Any) -> Any:
        return self.session.call(verb, path, what, **kwargs)

    def _pages(self, what: str, path: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [item for item in self.session.pages(path, what, query) if isinstance(item, dict)]

    # Who the bot is.
    def current_user(self) -> dict[str, Any]:
        """`GET /user`: the token's user."""
        return dict(self._call("read the bot user", "get", "/user"))

    def user(self, username: str) -> dict[str, Any] | None:
        """`GET /users?username=`: the user, or None when GitLab knows no such user."""
        found = self._call(f"find user {username}", "get", "/users", query={"username": username})
        return dict(found[0]) if isinstance(found, list) and found else None

    def token_self(self) -> dict[str, Any]:
        """`GET /personal_access_tokens/self`: the token's scopes and expiry."""
        return dict(self._call("read the token", "get", "/personal_access_tokens/self"))

    def version(self) -> dict[str, Any]:
        """`GET /version`."""
        return dict(self._call("read the GitLab version", "get", "/version"))

    # Where the bot works.
    def namespace(self, kind: str, path: str) -> Namespace:
        """Resolve `group/project` (or a group path, or a numeric id) to its id."""
        noun = "project" if kind == "projects" else "group"
        data = self._call(f"find {noun} {path}", "get", f"/{kind}/{quote(str(path), safe='')}")
        full = data.get("path_with_namespace") or data.get("full_path") or str(path)
        return Namespace(kind, int(data["id"]), str(full))

    def access_level(self, ns: Namespace, user_id: int) -> int:
        """The user's access level there, inherited memberships included; 0 when not a member."""
        try:
            data = self._call("read the bot's membership", "get", f"{ns.base}/members/all/{user_id}")
        except GitLabError as exc:
            if exc.status == 404:
                return 0
            raise
        return int(data.get("access_level") or 0)

    # Labels.
    def labels(self, ns: Namespace) -> list[dict[str, Any]]:
        """Every label usable there, the inherited group labels included."""
        return self._pages(f"list the labels of {ns.path}", f"{ns.base}/labels", {"include_ancestor_groups": "true"})

    def create_label(self, ns: Namespace, name: str, color: str, description: str) -> None:
        """`POST .../labels`."""
        data = {"name": name, "color": color, "description": description}
        self._call(f"create label {name}", "post", f"{ns.base}/labels", json=data)

    def update_label(self, ns: Namespace, label_id: int, name: str, color: str, description: str) -> None:
        """`PUT .../labels/:id` (by id: a name with `::` or `/` is awkward in a path)."""
        data = {"color": color, "description": description}
        self._call(f"update label {name}", "put", f"{ns.base}/labels/{label_id}", json=data)

    # Webhooks.
    def hooks(self, ns: Namespace) -> list[dict[str, Any]]:
        """The project's or group's webhooks."""
        return self._pages(f"list the webhooks of {ns.path}", f"{ns.base}/hooks")

    def create_hook(self, ns: Namespace, fields: dict[str, Any]) -> dict[str, Any]:
        """`POST .../hooks`."""
        return dict(self._call(f"create the webhook of {ns.path}", "post", f"{ns.base}/hooks", json=fields))

    def update_hook(self, ns: Namespace, hook_id: int, fields: dict[str, Any]) -> None:
        """`PUT .../hooks/:id`."""
        self._call(f"update the webhook of {ns.path}", "put", f"{ns.base}/hooks/{hook_id}", json=fields)

    def hook_events(self, ns: Namespace, hook_id: int) -> list[dict[str, Any]]:
        """The hook's recent deliveries (GitLab 17.x+; older versions answer 404)."""
        path = f"{ns.base}/hooks/{hook_id}/events"
        batch = self._call(f"list the webhook's deliveries in {ns.path}", "get", path, query={"per_page": PAGE})
        return [item for item in batch if isinstance(item, dict)] if isinstance(batch, list) else []

    # Issues.
    def create_issue(self, ns: Namespace, title: str, description: str, labels: tuple[str, ...]) -> dict[str, Any]:
        """`POST .../issues` (a drill): the new issue as GitLab answers it."""
        data = {"title": title, "description": description, "labels": ",".join(labels)}
        return dict(self._call(f"open an issue in {ns.path}", "post", f"{ns.base}/issues", json=data))

    def issues(self, ns: Namespace, query: dict[str, Any]) -> list[dict[str, Any]]:
        """`GET .../issues` with `query`, every page."""
        return self._pages(f"list the issues of {ns.path}", f"{ns.base}/issues", query)

    def notes(self, project_id: int, iid: int) -> Iterator[dict[str, Any]]:
        """`GET /projects/:id/issues/:iid/notes`, newest first, one page at a time (stop iterating to stop reading)."""
        path, what = f"/projects/{project_id}/issues/{iid}/notes", f"list the comments of {project_id}#{iid}"
        query = {"sort": "desc", "order_by": "created_at"}
        yield from (item for item in self.session.pages(path, what, query) if isinstance(item, dict))
