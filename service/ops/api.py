"""The GitLab calls the operations commands make (labels, hooks, members, tokens, issue listing), over python-gitlab.

Kept apart from `service.gitlab`, whose Protocol lists what the delivery job needs: these calls run from
the command line and the scheduler, answer a person, and must fail fast rather than retry for minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import gitlab
import requests
from gitlab.exceptions import GitlabError

from .. import metrics

PAGE = 100  # GitLab's largest page
MAX_PAGES = 50  # 5,000 labels, hooks or issues: far past any real project, and a bound on a runaway listing
RETRIES = 2  # a person is waiting: two quick retries of a 5xx/429, then say what failed


class OpsError(Exception):
    """GitLab refused a call or could not be reached; `status` is the HTTP status, or None when unreachable."""

    def __init__(self, what: str, status: int | None, detail: str):
        super().__init__(f"{what}: {detail}")
        self.what = what
        self.status = status
        self.detail = detail

    @property
    def unreachable(self) -> bool:
        """True when GitLab did not answer at all."""
        return self.status is None


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


def _reason(exc: Exception) -> tuple[int | None, str]:
    if isinstance(exc, GitlabError) and getattr(exc, "response_code", None) is not None:
        message = str(getattr(exc, "error_message", "") or exc)
        return int(exc.response_code), f"GitLab answered {exc.response_code}: {message}"  # type: ignore[arg-type]
    # requests' messages carry the URL, which is fine here: it is GitLab's, not a secret.
    return None, f"GitLab unreachable: {type(exc).__name__}: {exc}"


class OpsGitLab:
    """The handful of REST calls `setup`, `doctor` and `reconcile` make."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.gl = gitlab.Gitlab(self.url, private_token=token or None, timeout=timeout, retry_transient_errors=True)
        self.gl.session.hooks["response"].append(metrics.gitlab_response)  # every attempt, retries included

    def _call(self, what: str, verb: str, path: str, **kwargs: Any) -> Any:
        method = getattr(self.gl, f"http_{verb}")
        try:
            return method(path, max_retries=RETRIES, **kwargs)
        except (GitlabError, requests.RequestException) as exc:
            status, detail = _reason(exc)
            raise OpsError(what, status, detail) from None

    def _pages(self, what: str, path: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        # Page by page until a short page, rather than trusting X-Total: GitLab omits it past 10,000 rows.
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._call(what, "get", path, query_data={**(query or {}), "per_page": PAGE, "page": page})
            if not isinstance(batch, list):
                raise OpsError(what, 200, "GitLab answered something other than a list")
            items += [item for item in batch if isinstance(item, dict)]
            if len(batch) < PAGE:
                break
        return items

    # Who the bot is.
    def current_user(self) -> dict[str, Any]:
        """`GET /user`: the token's user."""
        return dict(self._call("read the bot user", "get", "/user"))

    def user(self, username: str) -> dict[str, Any] | None:
        """`GET /users?username=`: the user, or None when GitLab knows no such user."""
        found = self._call(f"find user {username}", "get", "/users", query_data={"username": username})
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
        except OpsError as exc:
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
        self._call(f"create label {name}", "post", f"{ns.base}/labels", post_data=data)

    def update_label(self, ns: Namespace, label_id: int, name: str, color: str, description: str) -> None:
        """`PUT .../labels/:id` (by id: a name with `::` or `/` is awkward in a path)."""
        data = {"color": color, "description": description}
        self._call(f"update label {name}", "put", f"{ns.base}/labels/{label_id}", post_data=data)

    # Webhooks.
    def hooks(self, ns: Namespace) -> list[dict[str, Any]]:
        """The project's or group's webhooks."""
        return self._pages(f"list the webhooks of {ns.path}", f"{ns.base}/hooks")

    def create_hook(self, ns: Namespace, fields: dict[str, Any]) -> dict[str, Any]:
        """`POST .../hooks`."""
        return dict(self._call(f"create the webhook of {ns.path}", "post", f"{ns.base}/hooks", post_data=fields))

    def update_hook(self, ns: Namespace, hook_id: int, fields: dict[str, Any]) -> None:
        """`PUT .../hooks/:id`."""
        self._call(f"update the webhook of {ns.path}", "put", f"{ns.base}/hooks/{hook_id}", post_data=fields)

    def hook_events(self, ns: Namespace, hook_id: int) -> list[dict[str, Any]]:
        """The hook's recent deliveries (GitLab 17.x+; older versions answer 404)."""
        path = f"{ns.base}/hooks/{hook_id}/events"
        batch = self._call(f"list the webhook's deliveries in {ns.path}", "get", path, query_data={"per_page": PAGE})
        return [item for item in batch if isinstance(item, dict)] if isinstance(batch, list) else []

    # Issues.
    def create_issue(self, ns: Namespace, title: str, description: str, labels: tuple[str, ...]) -> dict[str, Any]:
        """`POST .../issues` (a drill): the new issue as GitLab answers it."""
        data = {"title": title, "description": description, "labels": ",".join(labels)}
        return dict(self._call(f"open an issue in {ns.path}", "post", f"{ns.base}/issues", post_data=data))

    def issues(self, ns: Namespace, query: dict[str, Any]) -> list[dict[str, Any]]:
        """`GET .../issues` with `query`, every page."""
        return self._pages(f"list the issues of {ns.path}", f"{ns.base}/issues", query)

    def notes(self, project_id: int, iid: int) -> Iterator[dict[str, Any]]:
        """`GET /projects/:id/issues/:iid/notes`, newest first, one page at a time (stop iterating to stop reading)."""
        path, what = f"/projects/{project_id}/issues/{iid}/notes", f"list the comments of {project_id}#{iid}"
        for page in range(1, MAX_PAGES + 1):
            query = {"sort": "desc", "order_by": "created_at", "per_page": PAGE, "page": page}
            batch = self._call(what, "get", path, query_data=query)
            if not isinstance(batch, list):
                raise OpsError(what, 200, "GitLab answered something other than a list")
            yield from (item for item in batch if isinstance(item, dict))
            if len(batch) < PAGE:
                return
