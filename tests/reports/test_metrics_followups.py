"""`/metrics` shows the follow-ups open and overdue beside the index's figures (issue 20), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import urllib.request
from datetime import UTC, date, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from werkzeug.serving import make_server

from service.config import Settings
from service.corrective import FollowUpIssue
from service.reports.gauges import IndexCollector
from service.reports.targets import targets_from_rules
from service.rules import RuleSet
from service.store import Store
from service.store.corrective import record
from service.web.app import create_app

OPEN, OVERDUE = "incident_bot_follow_ups_open", "incident_bot_follow_ups_overdue"


def seed(store: Store, today: date) -> None:
    """Four open follow-ups (3 days late, due today, due in 5 days, no due date) and a late one closed."""
    now = datetime.combine(today, datetime.min.time(), UTC)
    opened = now - timedelta(days=30)
    for iid, due, state in (
        (1, today - timedelta(days=3), "opened"),
        (2, today, "opened"),
        (3, today + timedelta(days=5), "opened"),
        (4, None, "opened"),
        (5, today - timedelta(days=10), "closed"),
    ):
        closed = now if state == "closed" else None
        issue = FollowUpIssue(1, iid, title=f"f{iid}", state=state, due_on=due, opened_at=opened, closed_at=closed)
        record(store.engine, (1, 23), issue, now)


def samples(text: str) -> dict[str, float]:
    """The unlabelled samples of an exposition by name."""
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def test_a_scrape_of_the_app_counts_open_and_overdue_follow_ups(
    store: Store, database_url: str, settings: Settings, redis_conn: Redis, rules: RuleSet, monkeypatch
) -> None:
    """A real HTTP scrape: 4 open, 2 of them overdue (the one due today counts, the closed one does not)."""
    seed(store, datetime.now(UTC).date())
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    server = make_server("127.0.0.1", 0, create_app(settings, connection=redis_conn, rules=rules), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a local test server
            found = samples(answer.read().decode())
    finally:
        server.shutdown()
    assert found[OPEN] == 4 and found[OVERDUE] == 2 and found["incident_bot_index_up"] == 1


def test_the_figures_are_shared_through_redis_and_served_without_it(
    store: Store, redis_conn: Redis, rules: RuleSet
) -> None:
    """Two processes serve the one read's figures (stored by the Lua call); with no Redis a process reads alone."""
    from prometheus_client import CollectorRegistry, generate_latest

    today = date(2026, 12, 1)
    seed(store, today)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    targets = targets_from_rules(rules)

    def scrape(connection: Redis | None) -> dict[str, float]:
        registry = CollectorRegistry()
        registry.register(IndexCollector(lambda: store, targets, rules.severities, connection, "q", now=lambda: now))
        return samples(generate_latest(registry).decode())

    first = scrape(redis_conn)
    record(store.engine, (1, 23), FollowUpIssue(1, 6, due_on=today, opened_at=now - timedelta(days=1)), now)
    cached = scrape(redis_conn)  # another process within the cache's seconds: the stored figures
    alone = scrape(None)
    assert (first[OPEN], first[OVERDUE]) == (cached[OPEN], cached[OVERDUE]) == (4, 2)
    assert (alone[OPEN], alone[OVERDUE]) == (5, 3)
