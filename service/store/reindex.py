"""`incident-bot reindex`: rebuild the index from GitLab alone, idempotently.

Per incident: its resource label events, resource state events and notes (3 calls,
plus pagination), and the review issue's state when the bot opened one (1 call):
at most 4. Incidents are listed once per listing (the incident label, and type
Incident), 100 per page. Histories are fetched by a few threads while the store
writes, so the rate is bound by GitLab's answers, not by the database. A closed drill's
training record is written again from the same history (`training.rebuild`), with no
further call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import gitlab
import requests
from gitlab.exceptions import GitlabError

from .history import history_observation, review_iid
from .model import Observation
from .query import Scope
from .store import Store
from .training import rebuild as rebuild_training
from .vocabulary import Vocabulary

PER_PAGE = 100
DEFAULT_WORKERS = 4
WRITE_BATCH = 50  # incidents per transaction: one commit per batch, and a crash loses at most a batch


class ReindexError(Exception):
    """GitLab could not be read (unreachable, refused); the message says which call."""


class HistorySource(Protocol):
    """The GitLab reads reindex needs; python-gitlab implements it, tests use the fake GitLab over HTTP."""

    def bot_username(self) -> str: ...

    def incident_issues(
        self, *, project: str | None, group: str | None, updated_after: datetime | None, incident_label: str
    ) -> Iterator[dict[str, Any]]: ...

    def label_events(self, project_id: int, iid: int) -> list[dict[str, Any]]: ...

    def state_events(self, project_id: int, iid: int) -> list[dict[str, Any]]: ...

    def notes(self, project_id: int, iid: int) -> list[dict[str, Any]]: ...

    def issue_state(self, project_id: int, iid: int) -> str | None: ...


class GitLabHistory:
    """HistorySource over python-gitlab: one client per thread, every call counted."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0):
        self.url, self.token, self.timeout = url, token, timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls = 0

    def _gl(self) -> gitlab.Gitlab:
        gl = getattr(self._local, "gl", None)
        if gl is None:
            gl = gitlab.Gitlab(self.url, private_token=self.token, timeout=self.timeout, retry_transient_errors=True)
            self._local.gl = gl
        return gl

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def _get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        self._count()
        try:
            return self._gl().http_get(path, query_data=query or {}, max_retries=3)
        except (GitlabError, requests.RequestException) as exc:
            raise ReindexError(f"GET {path}: {exc}") from exc

    def _list(self, path: str, query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing; each page is one call."""
        page = 1
        while True:
            self._count()
            try:
                result = self._gl().http_get(
                    path, query_data={**(query or {}), "per_page": PER_PAGE, "page": page}, max_retries=3, raw=True
                )
            except (GitlabError, requests.RequestException) as exc:
                raise ReindexError(f"GET {path}: {exc}") from exc
            assert isinstance(result, requests.Response)  # raw=True
            items = result.json()
            yield from items
            following = result.headers.get("X-Next-Page", "")
            if not following.strip() or not items:
                return
            page = int(following)

    def bot_username(self) -> str:
        return str(self._get("/user")["username"])

    def incident_issues(
        self, *, project: str | None, group: str | None, updated_after: datetime | None, incident_label: str
    ) -> Iterator[dict[str, Any]]:
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
            for issue in self._list(path, {**base, **query}):
                key = (int(issue["project_id"]), int(issue["iid"]))
                if key not in seen:
                    seen.add(key)
                    yield issue

    def label_events(self, project_id: int, iid: int) -> list[dict[str, Any]]:
        return list(self._list(f"/projects/{project_id}/issues/{iid}/resource_label_events"))

    def state_events(self, project_id: int, iid: int) -> list[dict[str, Any]]:
        return list(self._list(f"/projects/{project_id}/issues/{iid}/resource_state_events"))

    def notes(self, project_id: int, iid: int) -> list[dict[str, Any]]:
        return list(self._list(f"/projects/{project_id}/issues/{iid}/notes", {"sort": "asc", "order_by": "created_at"}))

    def issue(self, project_id: int, iid: int) -> dict[str, Any]:
        """One issue as GitLab's REST API answers it."""
        found = self._get(f"/projects/{project_id}/issues/{iid}")
        if not isinstance(found, dict):
            raise ReindexError(f"GET /projects/{project_id}/issues/{iid}: not an issue")
        return found

    def issue_state(self, project_id: int, iid: int) -> str | None:
        try:
            return str(self._get(f"/projects/{project_id}/issues/{iid}").get("state") or "") or None
        except ReindexError:
            return None  # the review issue was deleted or moved: its state is simply unknown


@dataclass(frozen=True)
class ReindexResult:
    """What one reindex did."""

    incidents: int
    seconds: float
    forgotten: int = 0  # incidents in scope that are no longer incidents in GitLab
    training_records: int = 0  # rows of closed drills' training records written (`store.training.rebuild`)

    @property
    def rate(self) -> float:
        """Incidents per second."""
        return self.incidents / self.seconds if self.seconds > 0 else float("inf")


def fetch(source: HistorySource, issue: dict[str, Any], vocab: Vocabulary, now: datetime) -> Observation:
    """One incident's full history from GitLab, as an Observation (3 calls, 4 with a review issue)."""
    pid, iid = int(issue["project_id"]), int(issue["iid"])
    labels = source.label_events(pid, iid)
    states = source.state_events(pid, iid)
    notes = source.notes(pid, iid)
    review = review_iid(notes, vocab.bot_username)
    review_state = source.issue_state(pid, review) if review is not None else None
    return history_observation(issue, labels, states, notes, vocab, review_state=review_state, observed_at=now)


def reindex(
    store: Store,
    source: HistorySource,
    vocab: Vocabulary,
    *,
    project: str | None = None,
    group: str | None = None,
    since: datetime | None = None,
    workers: int = DEFAULT_WORKERS,
    now: datetime | None = None,
) -> ReindexResult:
    """Rebuild every incident GitLab lists (in a project, a group, or all visible; updated since `since`)."""
    began = time.perf_counter()
    moment = now or datetime.now(UTC)
    issues = source.incident_issues(
        project=project, group=group, updated_after=since, incident_label=vocab.incident_label
    )
    count, trained, batch, listed = 0, 0, [], []

    def write(observations: list[Observation]) -> int:
        """One batch: the incidents, then its closed drills' training records (they read the rebuilt rows)."""
        store.rebuild(*observations)
        return rebuild_training(store.engine, observations, recorded_at=moment)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="reindex") as pool:
        # map() keeps GitLab's order; the readers run ahead while the store writes a batch per transaction.
        for obs in pool.map(lambda issue: fetch(source, issue, vocab, moment), issues):
            batch.append(obs)
            listed.append((obs.project_id, obs.iid))
            if len(batch) >= WRITE_BATCH:
                trained += write(batch)
                count, batch = count + len(batch), []
        if batch:
            trained += write(batch)
            count += len(batch)
    forgotten = 0
    if since is None:  # a full pass: what GitLab no longer lists as an incident leaves the index
        forgotten = store.prune(Scope(project=project, group=group), listed)
    return ReindexResult(
        incidents=count, seconds=time.perf_counter() - began, forgotten=forgotten, training_records=trained
    )


def reindex_issue(
    store: Store, source: GitLabHistory, vocab: Vocabulary, project_id: int, iid: int, now: datetime | None = None
) -> None:
    """Rebuild one incident from GitLab alone (the catch-up of a delivery whose index write failed)."""
    moment = now or datetime.now(UTC)
    obs = fetch(source, source.issue(project_id, iid), vocab, moment)
    store.rebuild(obs)
    rebuild_training(store.engine, [obs], recorded_at=moment)
