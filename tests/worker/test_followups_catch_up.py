"""A follow-up whose index write failed is never lost (issue 20): its incident waits for the catch-up, which rebuilds
the incident's follow-ups from GitLab through reindex's own code (`store.reindex_followups`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from redis import Redis

from service.gitlab.history import GitLabHistory
from service.store import Store, open_store, pending
from service.store.corrective import find
from service.worker.index import DeliveryIndex
from tests.fakegitlab import BOT
from tests.followups import comment, declare_severity_1, follow_up_issues, issue_hook

pytestmark = pytest.mark.usefixtures("follow_up_clock")


def worker_index(runtime, settings, redis_conn: Redis, url: Callable[[], str]) -> DeliveryIndex:
    """The worker's index as `incident-bot worker` builds it: pending catch-ups in Redis, GitLab's history to
    reindex them; the database `url()` names when it is opened."""
    runtime.index = DeliveryIndex(
        lambda: open_store(url()),
        redis_conn,
        lambda: GitLabHistory(settings.gitlab_url, "token"),
        settings.queue_name,
    )
    return runtime.index


def test_a_follow_up_asked_while_the_index_is_down_is_in_the_index_after_the_catch_up(
    fake, runtime, settings, rules, redis_conn: Redis, database_url: str, tmp_path, monkeypatch
) -> None:
    """The database cannot be opened while `follow-up` is asked: the issue is opened in GitLab, the incident waits
    for a catch-up; once the database is back, the catch-up keeps the follow-up under its incident."""
    monkeypatch.setattr("service.worker.index.RETRY_OPEN_SECONDS", 0.0)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the data directory is a file: the index cannot be created")
    where = [f"sqlite:///{blocker / 'incidents.sqlite3'}"]
    index = worker_index(runtime, settings, redis_conn, lambda: where[0])
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    assert pending.some(redis_conn, settings.queue_name, 10) == [(1, 23)]

    where[0] = database_url  # the database is back
    assert index.catch_up(rules, BOT["username"]) == 1
    reader = open_store(database_url)
    try:
        row = find(reader.engine, 1, issue["iid"])
        assert row is not None and (row.incident_project_id, row.incident_iid) == (1, 23)
        assert (row.owner, str(row.due_on)) == ("bob", "2026-12-01")
    finally:
        reader.engine.dispose()
    assert pending.count(redis_conn, settings.queue_name) == 0


def test_a_follow_up_change_whose_index_write_failed_is_caught_up(
    fake, runtime, settings, rules, redis_conn: Redis, database_url: str, monkeypatch
) -> None:
    """The follow-up is closed in GitLab and its Issue Hook tracked while the index refuses the write: its incident
    waits for a catch-up, which keeps the follow-up closed."""
    index = worker_index(runtime, settings, redis_conn, lambda: database_url)
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    store: Store | None = index.store(rules, BOT["username"])
    assert store is not None and find(store.engine, 1, issue["iid"]) is not None

    def refused(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE follow_ups", {}, Exception("database is locked"))

    monkeypatch.setattr("service.store.corrective.record", refused)
    issue.update(state="closed", closed_at="2026-11-30T09:00:00Z", updated_at="2026-11-30T09:00:00Z")
    issue_hook(fake, issue["iid"], "close-1")
    monkeypatch.undo()
    assert pending.some(redis_conn, settings.queue_name, 10) == [(1, 23)]
    row = find(store.engine, 1, issue["iid"])
    assert row is not None and row.state == "opened"  # the write that failed

    assert index.catch_up(rules, BOT["username"]) == 1
    row = find(store.engine, 1, issue["iid"])
    assert row is not None and row.state == "closed"
