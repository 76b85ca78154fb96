"""Incident board benchmark: `python bench/board.py [--quick]` prints figures; it never asserts on time.

Server time of `GET /board` (the whole HTML: active incidents, phase times, resolved in 7 days,
the 30-day report) with 200 active and 10,000 past incidents in a SQLite index, through
Flask's WSGI stack in process (no network), against same-run baselines: a route of the same
app that answers a constant string, and one bare scan of the incidents table (the index has no
index on resolved_at/state, so every board read scans it once). Also the live fragment, an incident page and a search.
Target (issue 11): board HTML <= 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from service.config import Settings, shipped_rules_dir  # noqa: E402
from service.reports.targets import targets_from_rules  # noqa: E402
from service.rules import load_rules  # noqa: E402
from service.store import Observation, Store, open_store  # noqa: E402
from service.store.schema import incidents  # noqa: E402
from service.web.board import BoardConfig, register_board  # noqa: E402
from service.web.board.summary import month  # noqa: E402
from tests.web.board.seed import incident  # noqa: E402

TARGET_MS = 50.0
TOKEN = "bench-kiosk-token"
WORDS = ["checkout", "search", "login", "latency", "database", "queue", "cdn", "certificate", "api", "billing"]


def seed(store: Store, active: int, past: int, rng: random.Random, now: datetime) -> None:
    """`past` resolved incidents over two years (a few hundred in the last 30 days) and `active` open ones."""
    batch: list[Observation] = []

    def flush() -> None:
        store.rebuild(*batch)
        batch.clear()

    for n in range(past):
        started = rng.uniform(60, 2 * 365 * 1440)
        took = rng.uniform(20, min(started - 1, 5 * 1440))
        title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} incident {n}"
        batch.append(
            incident(
                n + 1,
                title,
                now=now,
                started_minutes_ago=started,
                severity=rng.choice([1, 2, 3, 3, 4]),
                resolved_minutes_ago=started - took,
                confidential=n % 50 == 0,
                description=f"{rng.choice(WORDS)} failed for some customers",
                project_id=1 + n % 7,
                project_path=f"acme/service-{n % 7}",
            )
        )
        if len(batch) == 200:
            flush()
    for n in range(active):
        started = rng.uniform(5, 3 * 1440)
        batch.append(
            incident(
                past + n + 1,
                f"{rng.choice(WORDS)} outage {n}",
                now=now,
                started_minutes_ago=started,
                severity=rng.choice([1, 2, 2, 3, 3, 4]),
                phase=rng.choice(["identification", "mitigation"]),
                last_update_minutes_ago=rng.choice([None, rng.uniform(1, started)]),
                roles={"incident-manager": "im-alice", "eoc": "eoc-carol"},
                confidential=n % 20 == 0,
                project_id=1 + n % 7,
                project_path=f"acme/service-{n % 7}",
            )
        )
        if len(batch) == 200:
            flush()
    if batch:
        flush()


def timed(call: Callable[[], object], rounds: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per call, after two warm-up calls (CPU time is steadier on a shared machine)."""
    call()
    call()
    wall, cpu = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def line(name: str, samples: tuple[list[float], list[float]]) -> str:
    """`name: wall median / p90 / max, CPU median (ms)`."""
    ordered = sorted(samples[0])
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return (
        f"{name:<34} median {statistics.median(ordered):7.2f} ms   p90 {p90:7.2f} ms   max {ordered[-1]:7.2f} ms"
        f"   cpu median {statistics.median(samples[1]):7.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 past incidents and 20 rounds")
    parser.add_argument("--active", type=int, default=200)
    parser.add_argument("--past", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    past, rounds = (1_000, 20) if args.quick else (args.past, args.rounds)
    rng = random.Random(11)
    now = datetime.now(UTC)
    rules = load_rules(shipped_rules_dir())
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'incidents.sqlite3'}")
        t0 = time.perf_counter()
        seed(store, args.active, past, rng, now)
        print(f"index: {store.count()} incidents ({args.active} active) seeded in {time.perf_counter() - t0:.1f} s")
        app = Flask("bench")
        register_board(app, Settings(local_trial=True), store, rules, BoardConfig(kiosk_token=TOKEN))
        app.add_url_rule("/baseline", "baseline", lambda: "ok")
        client = app.test_client()
        assert client.get(f"/board?token={TOKEN}").status_code == 302  # the kiosk cookie, as a wall display has
        page = client.get("/board")
        assert page.status_code == 200, page.status_code
        rows = page.get_data(as_text=True).count('<tr class="incident')
        print(f"board HTML: {len(page.data) / 1024:.0f} KiB, {rows} active rows")
        board = timed(lambda: client.get("/board"), rounds)
        baseline = timed(lambda: client.get("/baseline"), rounds)
        live = timed(lambda: client.get("/board/live"), rounds)
        active_iid = past + 5  # acme/service-4 (n % 7)
        assert client.get(f"/incidents/acme/service-4/{active_iid}").status_code == 200
        detail = timed(lambda: client.get(f"/incidents/acme/service-4/{active_iid}"), rounds)
        search = timed(lambda: client.get("/incidents?q=database+failed&severity=2"), rounds)
        scan = sa.select(incidents.c.id).where(incidents.c.resolved_at.is_(None))

        def bare_scan() -> object:
            with store.engine.connect() as conn:
                return conn.execute(scan).all()

        floor = timed(bare_scan, rounds)
        targets = targets_from_rules(rules)
        every_30s = timed(lambda: month(store, rules, targets, datetime.now(UTC)), rounds)
        print(line("baseline (constant route)", baseline))
        print(line("baseline (one scan of the index)", floor))
        print(line("GET /board (HTML)", board))
        print(line("  30-day figures (cached 30 s)", every_30s))
        print(line("GET /board/live (JSON fragment)", live))
        print(line("GET /incidents/<project>/<iid>", detail))
        print(line("GET /incidents?q=...&severity=", search))
        median = statistics.median(board[0])
        over = median - statistics.median(baseline[0])
        verdict = "within" if median <= TARGET_MS else "OVER"
        print(
            f"board median {median:.1f} ms ({over:.1f} ms above the baseline): {verdict} the {TARGET_MS:.0f} ms target"
        )
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
