"""`incident-bot reindex`: rebuild the index from GitLab alone, idempotently.

Per incident: its resource label events, resource state events and notes (3 calls, plus pagination), and the review
issue's state when the bot opened one (1 call): at most 4; then its follow-ups: the links of the incident and of its
reviews, and each follow-up issue and its comments (`reindex_followups`; the catch-up of one incident reads at most
`CATCH_UP` of them). Each issue's events and notes are read up to `gitlab.history.ISSUE_PAGES` pages. Its confirmed
cause is written again from the bot's newest confirmation among those notes (`store.cause_events`), through the
worker's own writer (`store.causes.rebuild_causes`). Incidents are listed once per listing (the incident label, and
type Incident), 100 per page. Histories are fetched by a few threads while the store writes, so the rate is bound by
GitLab's answers, not by the database. A closed drill's training record is written again from the same history
(`training.rebuild`), with no further call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..gitlab.history import GitLabHistory
from .causes import rebuild_causes
from .history import history_observation, review_iid
from .model import Observation
from .query import Scope
from .reindex_followups import CATCH_UP, FollowUpReindex, FollowUpSource
from .store import Store
from .training import rebuild as rebuild_training
from .vocabulary import Vocabulary

DEFAULT_WORKERS = 4
WRITE_BATCH = 50  # incidents per transaction: one commit per batch, and a crash loses at most a batch


class HistorySource(FollowUpSource, Protocol):
    """The GitLab reads reindex needs: service.gitlab.history.GitLabHistory (tests: the fake over HTTP)."""

    def bot_username(self) -> str: ...

    def incident_issues(
        self, *, project: str | None, group: str | None, updated_after: datetime | None, incident_label: str
    ) -> Iterator[dict[str, Any]]: ...

    def label_events(self, project_id: int, iid: int) -> list[dict[str, Any]]: ...

    def state_events(self, project_id: int, iid: int) -> list[dict[str, Any]]: ...

    def issue_state(self, project_id: int, iid: int) -> str | None: ...


@dataclass(frozen=True)
class ReindexResult:
    """What one reindex did."""

    incidents: int
    seconds: float
    forgotten: int = 0  # incidents in scope that are no longer incidents in GitLab
    training_records: int = 0  # rows of closed drills' training records written (`store.training.rebuild`)
    follow_ups: int = 0  # follow-ups kept from the incidents' linked issues (`store.reindex_followups`)
    causes: int = 0  # incidents' confirmed causes written from the bot's confirmations (`store.causes.rebuild_causes`)

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


def write_batch(
    store: Store, follow: FollowUpReindex, observations: list[Observation], now: datetime
) -> tuple[int, int]:
    """One batch: the incidents, their causes, their follow-ups (as `follow` read them), then the closed drills'
    training records (they read the rebuilt rows); the causes and training rows written."""
    store.rebuild(*observations)
    caused = rebuild_causes(store.engine, observations)
    follow.write(store.engine, observations, now)
    return caused, rebuild_training(store.engine, observations, recorded_at=now)


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
    count, trained, caused, batch, listed = 0, 0, 0, [], []
    follow = FollowUpReindex(source, vocab)

    def write(observations: list[Observation]) -> int:
        nonlocal caused
        done = write_batch(store, follow, observations, moment)
        caused += done[0]
        return done[1]

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="reindex") as pool:
        # map() keeps GitLab's order; the readers run ahead while the store writes a batch per transaction.
        for obs in pool.map(lambda issue: follow.read(fetch(source, issue, vocab, moment)), issues):
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
        incidents=count,
        seconds=time.perf_counter() - began,
        forgotten=forgotten,
        training_records=trained,
        follow_ups=follow.recorded,
        causes=caused,
    )


def reindex_issue(
    store: Store, source: GitLabHistory, vocab: Vocabulary, project_id: int, iid: int, now: datetime | None = None
) -> None:
    """Rebuild one incident from GitLab alone (the catch-up of a delivery whose index write failed), as `reindex`
    does each: its history, cause, follow-ups (at most `reindex_followups.CATCH_UP` of them) and training records."""
    moment = now or datetime.now(UTC)
    follow = FollowUpReindex(source, vocab, CATCH_UP)
    obs = follow.read(fetch(source, source.issue(project_id, iid), vocab, moment))
    write_batch(store, follow, [obs], moment)
