"""Suspects benchmark: `python bench/suspects.py [--quick] [--postgres URL]` prints figures; it never asserts on time.

An index of 10,000 deployments (a third to production, one in ten failed) and 2,000 flag switches over 60 days
in 20 projects; the suspects of incidents at random times (`store.changes.suspects`: the query and the pure
choice) against a bare `SELECT 1` round trip in the same run, on SQLite and on PostgreSQL (a database of
this run's own, dropped at the end; skipped with the reason when none answers). Issue 19's budget: suspects add
at most 5 ms to a declaration's first write.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from service.changes.hooks import Deployment, FlagChange  # noqa: E402
from service.changes.suspects import SuspectScope  # noqa: E402
from service.rules.settings import SuspectSettings  # noqa: E402
from service.store import make_engine, migrate  # noqa: E402
from service.store.changes import record, suspects  # noqa: E402

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
    scopes = iter([SuspectScope(rng.randint(1, 20), "acme/p1", s, shared=("acme",)) for s in starts] * 2)
    with engine.connect() as conn:
        bare = timed(lambda: conn.execute(sa.text("SELECT 1")).scalar(), runs)
    found = timed(lambda: suspects(engine, next(scopes), settings), runs)
    one = timed(lambda: suspects(engine, next(scopes), settings), runs)
    figures = f"suspects {found:.2f} ms median ({one:.2f} ms in a second pass); bare SELECT 1 {bare:.2f} ms"
    print(f"{name}, {deployments} deployments: {figures}")
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
