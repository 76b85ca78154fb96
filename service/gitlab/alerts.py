"""The GitLab calls alert incidents need (issue 18): a project's id from its path, an issue found by its marker,
and a description edited in place. Each goes through the client's Session (its errors, retries and metrics).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .client import BotClient
from .errors import UnexpectedAnswer

SEARCH_PAGE = 20


def _client(client: Any) -> BotClient:
    if not isinstance(client, BotClient):
        raise TypeError(f"alert incidents need the bot's GitLab client, not {type(client).__name__}")
    return client


def project_ref(client: Any, project: str) -> tuple[int, str]:
    """The numeric id and path of `project` (a path such as `ops/production`, or its id)."""
    data = _client(client).session.call("get", f"/projects/{quote(project, safe='')}", f"project {project}")
    try:
        return int(data["id"]), str(data.get("path_with_namespace") or project)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer(f"project {project}", type(exc).__name__, data) from None


def find_issue(client: Any, pid: int, search: str, marker: str) -> tuple[int, str] | None:
    """The issue of `pid` whose description holds `marker` (searched by `search`, a word of it): (iid, URL)."""
    found = _client(client).session.call(
        "get",
        f"/projects/{pid}/issues",
        f"the issues of {pid} holding an alert group's marker",
        query={"search": search, "in": "description", "per_page": SEARCH_PAGE, "order_by": "created_at"},
    )
    for issue in found if isinstance(found, list) else []:
        if isinstance(issue, dict) and marker in str(issue.get("description") or ""):
            return int(issue["iid"]), str(issue.get("web_url") or "")
    return None


def set_description(client: Any, pid: int, iid: int, description: str) -> None:
    """Replace the issue's description (the alert table edited in place)."""
    bound = _client(client)
    bound.session.call(
        "put", f"/projects/{pid}/issues/{iid}", f"the alert table of {pid}#{iid}", json={"description": description}
    )
