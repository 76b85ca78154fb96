"""An incident's history as GitLab keeps it, for reindex: incident listings, label and state events, notes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .errors import GitLabError
from .followups import FollowUpCalls
from .session import Session

HISTORY_RETRIES = 3
MAX_PAGES = 10_000  # a listing of a whole instance's incidents, 100 a page
ISSUE_PAGES = 50  # one issue's events or notes: 5,000, far past a real incident's, and a bound on a runaway one


class GitLabHistory(FollowUpCalls):
    """The reads reindex makes (store.reindex.HistorySource; a follow-up's links and issue: FollowUpCalls'), over
    one Session shared by its threads."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, session: Session | None = None):
        self.session = session or Session(url, token=token, timeout=timeout, retries=HISTORY_RETRIES)

    @property
    def calls(self) -> int:
        """GitLab requests made so far (pages and retries included)."""
        return self.session.calls

    def _list(
        self, path: str, query: dict[str, Any] | None = None, *, max_pages: int = ISSUE_PAGES
    ) -> Iterator[dict[str, Any]]:
        yield from self.session.pages(path, f"GET {path}", query, max_pages=max_pages)

    def bot_username(self) -> str:
        """The token's user."""
        found = self.session.call("get", "/user", "GET /user")
        return str(found["username"])

    def incident_issues(
        self, *, project: str | None, group: str | None, updated_after: datetime | None, incident_label: str
    ) -> Iterator[dict[str, Any]]:
        """Every incident (by label, then by type Incident), each once, oldest first."""
        if project:
            path = f"/projects/{quote(project, safe='')}/issues"
        elif group:
            path = f"/groups/{quote(group, safe='')}/issues"
        else:
            path = "/issues"
        base: dict[str, Any] = {"scope": "all", "state": "all", "order_by": "created_at", "sort": "asc"}
        if updated_after is not None:
            base["updated_after"] = updated_after.astimezone(UTC).isoformat().replace("+00:00", "Z")
        seen: set[tuple[int, int]] = set()
        for query in ({"labels": incident_label}, {"issue_type": "incident"}):
            for issue in self._list(path, {**base, **query}, max_pages=MAX_PAGES):
                key = (int(issue["project_id"]), int(issue["iid"]))
                if key not in seen:
                    seen.add(key)
                    yield issue

    def label_events(self, project_id: int, iid: int) -> list[dict[str, Any]]:
        """The issue's resource label events."""
        return list(self._list(f"/projects/{project_id}/issues/{iid}/resource_label_events"))

    def state_events(self, project_id: int, iid: int) -> list[dict[str, Any]]:
        """The issue's resource state events."""
        return list(self._list(f"/projects/{project_id}/issues/{iid}/resource_state_events"))

    def notes(
        self, project_id: int, iid: int, *, newest_first: bool = False, max_pages: int = ISSUE_PAGES
    ) -> list[dict[str, Any]]:
        """The issue's notes, oldest first (or `newest_first`), at most `max_pages` pages of 100."""
        query = {"sort": "desc" if newest_first else "asc", "order_by": "created_at"}
        return list(self._list(f"/projects/{project_id}/issues/{iid}/notes", query, max_pages=max_pages))

    def issue(self, project_id: int, iid: int) -> dict[str, Any]:
        """One issue as GitLab's REST API answers it."""
        path = f"/projects/{project_id}/issues/{iid}"
        found = self.session.call("get", path, f"GET {path}")
        if not isinstance(found, dict):
            raise GitLabError(f"GET {path}", 200, "not an issue")
        return found

    def issue_state(self, project_id: int, iid: int) -> str | None:
        """The issue's state, or None when it cannot be read (deleted or moved)."""
        try:
            return str(self.issue(project_id, iid).get("state") or "") or None
        except GitLabError:
            return None  # the review issue was deleted or moved: its state is simply unknown
