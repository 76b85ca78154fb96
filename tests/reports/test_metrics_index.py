"""`/metrics` reads the index: open incidents by severity, breach counters that never go down, index_up.

A seeded index on SQLite and PostgreSQL; scrapes over real HTTP (the app under werkzeug's server, and the
worker's metrics server); the figures worked out by hand from the shipped targets (rules/settings.yml).
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from werkzeug.serving import make_server

from service import metrics
from service.config import Settings
from service.connection import connect
from service.reports import GroupBy, report_from_store
from service.reports import gauges as gauges_module
from service.reports.gauges import IndexCollector, index_collector
from service.reports.targets import targets_from_rules
from service.rules import RuleSet
from service.store import EventKind, Observation, Store, TimelineEvent
from service.web.app import create_app
from tests.e2e.harness import free_port

BOT = "incident-bot"
IDS = {"alice": 7, "bob": 8, BOT: None}
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
Step = tuple[float, EventKind, str, str, str]  # minutes after creation, kind, from, to, actor
OPEN, BREACHES, UP = "incident_bot_open_incidents", "incident_bot_breaches_total", "incident_bot_index_up"


def seed(store: Store, iid: int, minutes_ago: float, steps: list[Step], **facts: Any) -> None:
    """One incident created `minutes_ago` before NOW, with its timeline."""
    created = NOW - timedelta(minutes=minutes_ago)
    events = tuple(
        TimelineEvent(created + timedelta(minutes=m), kind, "", frm, to, actor, IDS[actor], actor == BOT)
        for m, kind, frm, to, actor in [(0, EventKind.INCIDENT, "", "added", "alice"), *steps]
    )
    store.record(
        Observation(
            project_id=1,
            project_path="shop/checkout",
            iid=iid,
            title=f"Incident {iid}",
            author="alice",
            author_id=7,
            created_at=created,
            observed_at=created,
            events=events,
            **facts,
        )
    )


def closed(m: float) -> list[Step]:
    """bob closes; the bot moves the phase to post-incident at the same moment."""
    return [(m, EventKind.STATE, "", "closed", "bob"), (m, EventKind.PHASE, "remediation", "post-incident", BOT)]


def seeded(store: Store) -> Store:
    """Seven incidents; the comment on each says what it adds (targets: rules/settings.yml)."""
    S, P, C = EventKind.SEVERITY, EventKind.PHASE, EventKind.COMMENT
    # 1 sev1: acknowledged at 10, mitigated at 100, resolved at 300: within every target (15, 240, 1440).
    seed(
        store,
        1,
        3000,
        [(0, S, "", "1", BOT), (10, C, "", "", "bob"), (100, P, "identification", "remediation", "bob"), *closed(300)],
        severity=1,
        phase="post-incident",
        state="closed",
    )
    # 2 sev1 de-escalated to 2 (counts as 1): acknowledged at 20, mitigated at 500, resolved at 2000: three breaches.
    seed(
        store,
        2,
        3000,
        [
            (0, S, "", "1", "alice"),
            (20, C, "", "", "bob"),
            (500, P, "identification", "remediation", "bob"),
            (600, S, "1", "2", "bob"),
            *closed(2000),
        ],
        severity=2,
        phase="post-incident",
        state="closed",
    )
    # 3 sev2, open 100 minutes, acknowledged at 5: no breach yet.
    seed(store, 3, 100, [(0, S, "", "2", BOT), (5, C, "", "", "bob")], severity=2, phase="identification")
    # 4 sev3, open 120 minutes, nobody has acknowledged it: past the 60-minute target.
    seed(store, 4, 120, [(0, S, "", "3", BOT)], severity=3, phase="identification")
    # 5 a drill, sev1, open for days: left out of everything.
    seed(store, 5, 5000, [(0, S, "", "1", BOT)], severity=1, phase="identification", drill=True)
    # 6 no severity yet, open 10 minutes.
    seed(store, 6, 10, [], phase="identification")
    # 7 sev4, open 5000 minutes, not acknowledged or mitigated: past 240 and 4320, not past 20160.
    seed(store, 7, 5000, [(0, S, "", "4", BOT)], severity=4, phase="identification")
    return store


def zero_grid(**found: int) -> dict[tuple[str, str], float]:
    """Every (target, severity) series at zero, but those given as `acknowledge_1=2`."""
    grid = {(t, str(s)): 0.0 for t in ("acknowledge", "mitigate", "resolve") for s in (1, 2, 3, 4)}
    for key, value in found.items():
        target, _, severity = key.partition("_")
        grid[(target, severity)] = float(value)
    return grid


def parse(text: str) -> dict[str, dict[tuple[str, ...], float]]:
    """Each sample of the exposition by name, keyed by its label values (`target` first, then by label name)."""
    found: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names = sorted(sample.labels, key=lambda name: (name != "target", name))
            found.setdefault(sample.name, {})[tuple(sample.labels[n] for n in names)] = sample.value
    return found


def get(url: str) -> dict[str, dict[tuple[str, ...], float]]:
    """A real HTTP scrape: 200, Prometheus' text format, parsed."""
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a local test server
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
        return parse(answer.read().decode())


@pytest.fixture
def serve(
    settings: Settings, redis_conn: Redis, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., str]]:
    """Start the real app on a free port over the index at a URL; returns its /metrics URL."""
    servers: list[Any] = []

    def start(database_url: str, connection: Redis = redis_conn) -> str:
        monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
        app = create_app(settings, connection=connection, rules=rules)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/metrics"

    yield start
    for server in servers:
        server.shutdown()


def test_the_app_serves_open_incidents_and_breaches_from_the_index(
    store: Store, database_url: str, serve: Callable[..., str], rules: RuleSet
) -> None:
    """A real scrape of the app: index up, open by severity now, breaches as the report counts them."""
    seeded(store)
    found = get(serve(database_url))
    assert found[UP] == {(): 1.0}
    assert found[OPEN] == {("1",): 0, ("2",): 1, ("3",): 1, ("4",): 1, ("none",): 1}
    # Scraped at the wall clock's time: the open incidents' breaches depend on it, the resolved ones' do not.
    assert {t: found[BREACHES][(t, "1")] for t in ("acknowledge", "mitigate", "resolve")} == dict.fromkeys(
        ("acknowledge", "mitigate", "resolve"), 1.0
    )
    assert found["incident_bot_redis_up"] == {(): 1.0}  # the Redis gauges are still there


def test_the_counters_are_the_reports_breaches_at_first(store: Store, redis_conn: Redis, rules: RuleSet) -> None:
    """First read: per severity, the same breaches as `incident-bot report` over all time (drill left out)."""
    seeded(store)
    targets = targets_from_rules(rules)
    collector = IndexCollector(lambda: store, targets, rules.severities, redis_conn, "q", now=lambda: NOW)
    found = parse(exposed(collector))
    assert found[BREACHES] == zero_grid(
        acknowledge_1=1, mitigate_1=1, resolve_1=1, acknowledge_3=1, acknowledge_4=1, mitigate_4=1
    )
    report = report_from_store(
        store, start=NOW - timedelta(days=365), end=NOW, by=GroupBy.SEVERITY, targets=targets, now=NOW
    )
    from_report = {(t, key): float(n) for key, group in report.groups.items() for t, n in group.breaches.items()}
    assert {k: v for k, v in from_report.items() if v} == {k: v for k, v in found[BREACHES].items() if v}


def exposed(collector: IndexCollector) -> str:
    """The collector's exposition alone (a registry holding only it)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_the_counters_never_go_down(store: Store, redis_conn: Redis, rules: RuleSet) -> None:
    """Escalated, forgotten, then new breaches: each series only grows, by the new breaches only."""
    seeded(store)
    clock = {"now": NOW}
    collector = IndexCollector(
        lambda: store, targets_from_rules(rules), rules.severities, redis_conn, "q", now=lambda: clock["now"]
    )

    def scrape() -> dict[str, dict[tuple[str, ...], float]]:
        redis_conn.delete(collector.keys["lock"])  # the cache's few seconds are over
        return parse(exposed(collector))

    first = scrape()[BREACHES]
    # 4 escalated 3 -> 1 at 60 minutes: its missed acknowledgement now counts under severity 1 (15 minutes), and
    # severity 3's figure drops to 0; 7 loses its incident label: the index forgets it and its two breaches.
    seed(store, 4, 120, [(60, EventKind.SEVERITY, "3", "1", "bob")], severity=1, phase="identification")
    store.record(Observation(project_id=1, project_path="shop/checkout", iid=7, is_incident=False))
    second = scrape()
    assert second[BREACHES] == {**first, ("acknowledge", "1"): 2.0}
    assert second[OPEN] == {("1",): 1, ("2",): 1, ("3",): 0, ("4",): 0, ("none",): 1}  # gauges follow the index
    # 500 minutes later: 4 (now 620 minutes old) is past 240 to mitigate; 3 (600) past 480 to mitigate.
    clock["now"] = NOW + timedelta(minutes=500)
    third = scrape()[BREACHES]
    assert third == {**second[BREACHES], ("mitigate", "1"): 2.0, ("mitigate", "2"): 1.0}
    assert all(third[k] >= first[k] for k in first)


def test_one_read_of_the_index_serves_every_process_for_a_few_seconds(
    store: Store, redis_conn: Redis, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes' collectors, many scrapes: one read; both serve the same figures until the cache ends."""
    seeded(store)
    reads: list[datetime] = []
    real = gauges_module.read_index

    def counted(*args: Any) -> Any:
        reads.append(args[3])
        return real(*args)

    monkeypatch.setattr(gauges_module, "read_index", counted)
    targets = targets_from_rules(rules)
    a, b = (IndexCollector(lambda: store, targets, rules.severities, redis_conn, "q", now=lambda: NOW) for _ in "ab")
    scrapes = [parse(exposed(c)) for c in (a, b, a, b, b)]
    assert len(reads) == 1
    assert all(s == scrapes[0] for s in scrapes)
    seed(store, 8, 5, [], phase="identification")
    assert parse(exposed(b))[OPEN][("none",)] == 1  # still the cached figures
    redis_conn.delete(a.keys["lock"])  # the few seconds are over
    assert parse(exposed(b))[OPEN][("none",)] == 2 and len(reads) == 2


def test_an_index_that_cannot_be_read_is_index_up_0(serve: Callable[..., str]) -> None:
    """PostgreSQL refusing connections: the scrape still answers 200, index_up 0 and no index figures."""
    found = get(serve(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"))
    assert found[UP] == {(): 0.0}
    assert OPEN not in found and BREACHES not in found
    assert found["incident_bot_redis_up"] == {(): 1.0}


def test_an_index_that_fails_then_answers(store: Store, redis_conn: Redis, rules: RuleSet) -> None:
    """A read that fails (tables gone) is index_up 0 until the cache ends; the index back, the figures are back."""
    seeded(store)
    broken = {"yes": True}

    def opener() -> Store:
        if broken["yes"]:
            raise OSError("database unreachable")
        return store

    collector = IndexCollector(opener, targets_from_rules(rules), rules.severities, redis_conn, "q", now=lambda: NOW)
    assert parse(exposed(collector))[UP] == {(): 0.0}
    broken["yes"] = False
    assert parse(exposed(collector))[UP] == {(): 0.0}  # the failure is cached like a figure: no retry storm
    redis_conn.delete(collector.keys["lock"])
    found = parse(exposed(collector))
    assert found[UP] == {(): 1.0} and found[OPEN][("3",)] == 1


def test_without_redis_the_gauges_stay_and_the_counters_go(
    store: Store, database_url: str, serve: Callable[..., str]
) -> None:
    """Redis down: redis_up 0; the process reads the index itself: open gauges, no counters (their state is Redis')."""
    seeded(store)
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")  # as the app connects: fails fast, no retry backoff
    found = get(serve(database_url, dead))
    assert found["incident_bot_redis_up"] == {(): 0.0}
    assert found[UP] == {(): 1.0} and found[OPEN][("4",)] == 1
    assert BREACHES not in found


def test_the_workers_metrics_server_serves_them_too(store: Store, redis_conn: Redis, rules: RuleSet) -> None:
    """INCIDENT_BOT_METRICS_BIND's server (a worker-only machine) with the index collector: the same families."""
    seeded(store)
    port = free_port()
    collector = index_collector(rules, redis_conn, "q", lambda: store)
    assert metrics.serve_http(f"127.0.0.1:{port}", redis_conn, ["q"], [collector]) is not None
    found = get(f"http://127.0.0.1:{port}/metrics")
    assert found[UP] == {(): 1.0} and found[OPEN][("2",)] == 1 and (("acknowledge", "1")) in found[BREACHES]
