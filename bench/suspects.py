"""Suspects benchmark: `python bench/suspects.py [--quick] [--postgres URL]` prints figures; it never asserts on time.

An index of 10,000 deployments (a third to production, one in ten failed) and 2,000 flag switches over 60 days
in 20 projects; the suspects of incidents at random times (`store.changes.suspects`: the query and the pure
choice) against a bare `SELECT 1` round trip and against the first version (its statements built for every lookup,
kept here as `built_per_call`) in the same run, on SQLite and on PostgreSQL (a database of
this run's own, dropped at the end; skipped with the reason when none answers). Issue 19's budget (suspects add
at most 5 ms to a declaration's first write) is measured through the real job by bench/suspects_job.py.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from service.changes.hooks import PRODUCTION, SUCCESS, Change, Deployment, FlagChange  # noqa: E402
from service.changes.suspects import Suspect, SuspectScope, select_suspects  # noqa: E402
from service.rules.settings import SuspectSettings  # noqa: E402
from service.store import make_engine, migrate  # noqa: E402
from service.store.changes import deployment, flag_change, record, suspects  # noqa: E402
from service.store.model import utc  # noqa: E402
from service.store.schema import deployments, feature_flag_changes  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 60
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def seed(engine: sa.engine.Engine, deployments: int, flags: int, rng: random.Random) -> None:
    """The index's changes, spread evenly at random over DAYS."""
    for n in range(1, deployments + 1):
        pid = rng.randint(1, 20)
        tier = "production" if n % 3 == 0 else rng.choice(["staging", "development"])
        status = "failed" if n % 10 == 0 else "success"
        at = T0 + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        record(engine, Deployment(pid, f"acme/p{pid}", n, status, tier, tier, "", f"{n:08x}", f"change {n}", "dev", at))
    for n in range(flags):
        pid = rng.randint(1, 20)
        at = T0 + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        record(engine, FlagChange(pid, f"acme/p{pid}", f"flag-{n % 50}", n % 2 == 0, "ops", at, n + 1))


def built_per_call(engine: sa.engine.Engine, scope: SuspectScope, settings: SuspectSettings) -> list[Suspect]:
    """The baseline: the suspects' query as first written, its statements built anew for every lookup."""
    d, f = deployments.c, feature_flag_changes.c

    def projects(columns: Any) -> Any:
        path = sa.func.lower(columns.project_path)
        shared = []
        for p in scope.paths:
            escaped = p.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            shared += [path == p.lower(), path.like(escaped + "/%", escape="\\")]
        return sa.or_(columns.project_id == scope.project_id, *shared)

    since, until = utc(scope.started_at - timedelta(hours=settings.window_hours)), utc(scope.started_at)
    production = sa.or_(d.tier == PRODUCTION, d.environment.in_(settings.environments))
    deployed = (
        sa.select(deployments)
        .where(d.status == SUCCESS, production, d.status_changed_at.between(since, until), projects(d))
        .order_by(d.status_changed_at.desc(), d.project_id.desc(), d.deployment_id.desc())
        .limit(settings.limit)
    )
    switched = (
        sa.select(feature_flag_changes)
        .where(f.changed_at.between(since, until), projects(f))
        .order_by(f.changed_at.desc(), f.id.desc())
        .limit(settings.limit)
    )
    with engine.connect() as conn:
        found: list[Change] = [deployment(row) for row in conn.execute(deployed)]
        found += [flag_change(row) for row in conn.execute(switched)]
    return select_suspects(scope, found, settings)


def timed(call: Callable[[], object], runs: int) -> float:
    """Median milliseconds of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(name: str, url: str, deployments: int, runs: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(19)
    seed(engine, deployments, deployments // 5, rng)
    settings = SuspectSettings()
    starts = [T0 + timedelta(days=rng.uniform(2, DAYS)) for _ in range(runs)]
    scopes = iter([SuspectScope(rng.randint(1, 20), "acme/p1", s, shared=("acme",)) for s in starts] * 4)
    with engine.connect() as conn:
        bare = timed(lambda: conn.execute(sa.text("SELECT 1")).scalar(), runs)
    # The baseline first and last, so a machine getting busier or quieter during the run shows.
    base = timed(lambda: built_per_call(engine, next(scopes), settings), runs)
    found = timed(lambda: suspects(engine, next(scopes), settings), runs)
    one = timed(lambda: suspects(engine, next(scopes), settings), runs)
    base2 = timed(lambda: built_per_call(engine, next(scopes), settings), runs)
    baseline = statistics.median([base, base2])
    figures = f"suspects {found:.2f} ms median ({one:.2f} ms in a second pass); bare SELECT 1 {bare:.2f} ms"
    before = f"statements built per lookup (before) {base:.2f}/{base2:.2f} ms: {baseline / found:.1f}x faster now"
    print(f"{name}, {deployments} deployments: {figures}; {before}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 deployments, 50 lookups")
    parser.add_argument("--postgres", default=POSTGRES, help="an admin URL of the PostgreSQL server")
    args = parser.parse_args()
    deployments, runs = (1_000, 50) if args.quick else (10_000, 200)
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{tmp}/bench.sqlite3", deployments, runs)
    database = f"incident_bot_bench_suspects_{os.getpid()}"
    admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL: skipped, {args.postgres} does not answer: {str(exc).splitlines()[0]}")
        return
    try:
        url = sa.make_url(admin.url).set(database=database).render_as_string(hide_password=False)
        measure("PostgreSQL", url, deployments, runs)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
