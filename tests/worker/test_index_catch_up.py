"""An index write that fails is never dropped: its issue waits for a catch-up that doctor and /metrics count, and a
later pass reindexes it from GitLab."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis

from service import logs
from service.events import parse_event
from service.gitlab.history import GitLabHistory
from service.incident import IncidentState, Issue
from service.ops.doctor import check_index_catch_up
from service.ops.table import Status
from service.plan import Plan
from service.reports.gauges import IndexCollector
from service.rules import RuleSet
from service.store import open_store
from service.worker.delivery import Delivery
from service.worker.executor import Applied
from service.worker.index import DeliveryIndex
from tests.conftest import payload
from tests.fakegitlab import BOT, FakeGitLabServer, history_fake
from tests.store.history_script import play
from tests.store.played import play_script

QUEUE = "incident-bot"  # the deployment's queue name (the settings' default)


def pending_gauge(redis_conn: Redis) -> float | None:
    """The value /metrics shows for the pending catch-ups."""
    collector = IndexCollector(lambda: None, {}, [], redis_conn, QUEUE)
    for family in collector.collect():
        if family.name == "incident_bot_index_catchups_pending":
            return float(family.samples[0].value)
    return None


def test_a_failed_index_write_is_caught_up_from_gitlab(
    tmp_path: Path, database_url: str, rules: RuleSet, redis_conn: Redis, monkeypatch, caplog
) -> None:
    """The database cannot be opened when a delivery is applied: the issue is recorded (doctor warns, the gauge
    says 1); once the database is back, the next pass reindexes it from GitLab and the index holds the incident."""
    monkeypatch.setattr("service.worker.index.RETRY_OPEN_SECONDS", 0.0)
    history = history_fake()
    play_script(play, history, rules)
    key = sorted(history.issues)[0]
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("the data directory is a file: the index cannot be created")
    where = [f"sqlite:///{blocker / 'incidents.sqlite3'}"]
    with FakeGitLabServer(history) as server:
        history_of = lambda: GitLabHistory(server.url, "token")  # noqa: E731
        index = DeliveryIndex(lambda: open_store(where[0]), redis_conn, history_of, QUEUE)
        event = replace(parse_event(payload("issue.open.incident")), project_id=key[0], iid=key[1])
        log = logs.bind(logging.getLogger("incident_bot.worker"))
        delivery = Delivery(event, None, log, rules, lambda: datetime.now(UTC), BOT["username"])
        state = IncidentState(issue=Issue(project_id=key[0], iid=key[1]))
        caplog.set_level(logging.WARNING, logger="incident_bot")
        assert index.record(delivery, state, Plan(), Applied(), {}) is False
        assert "recorded for a catch-up" in caplog.text
        row = check_index_catch_up(redis_conn, QUEUE)
        assert row.status is Status.WARN and "1 issue(s)" in row.detail
        assert pending_gauge(redis_conn) == 1

        assert index.catch_up(rules, BOT["username"]) == 0  # still no database: it stays pending
        assert pending_gauge(redis_conn) == 1

        where[0] = database_url  # the database is back
        assert index.catch_up(rules, BOT["username"]) == 1
    reader = open_store(database_url)
    try:
        found = reader.incident(*key)
        assert found is not None and found.title == history.issues[key]["title"]
        assert reader.timeline(*key)
    finally:
        reader.engine.dispose()
    assert check_index_catch_up(redis_conn, QUEUE).status is Status.OK
    assert pending_gauge(redis_conn) == 0


def test_the_workers_maintenance_pass_applies_pending_catch_ups(
    runtime, database_url: str, rules: RuleSet, redis_conn: Redis
) -> None:
    """With no delivery coming, the worker's own maintenance pass reindexes a pending issue from GitLab."""
    from service.store import pending
    from service.worker import make_worker

    history = history_fake()
    play_script(play, history, rules)
    key = sorted(history.issues)[0]
    redis_conn.set("incident-bot:bot-username", BOT["username"])  # the bot's name as the worker last asked GitLab
    redis_conn.set("incident-bot:bot-user-checked", "1")
    pending.add(redis_conn, runtime.settings.queue_name, *key)
    with FakeGitLabServer(history) as server:
        runtime.index = DeliveryIndex(
            lambda: open_store(database_url), redis_conn, lambda: GitLabHistory(server.url, "token"), QUEUE
        )
        make_worker(runtime.settings, redis_conn, ["catch-up"]).work(burst=True)
    assert pending_gauge(redis_conn) == 0
    reader = open_store(database_url)
    try:
        assert reader.incident(*key) is not None
    finally:
        reader.engine.dispose()


def test_the_index_guard_never_swallows_a_workers_stop() -> None:
    """RQ's StopRequested (raised by SIGTERM's handler in an idle worker, maybe during the maintenance catch-up)
    passes through the guard: swallowed, it kept a worker running 25 s after SIGTERM in a CI run."""
    import logging

    from rq.exceptions import StopRequested

    from service.worker.index import index_guard

    with pytest.raises(StopRequested), index_guard(logging.getLogger("test"), "index catch-up skipped"):
        raise StopRequested()
