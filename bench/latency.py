"""Where a declaration's time goes: `python bench/latency.py [--quick]` prints figures; it never asserts on time.

Declarations go through the real delivery job (`process_delivery`: GitLab read, plan, apply, index) in this
process, against the fake GitLab served over HTTP on loopback, with an incident index (SQLite, or PostgreSQL
with --postgres [URL]) already holding --past incidents (2,000 by default, titled from a small vocabulary so
that many are alike). Half the declarations name a database, so a functional area applies and past incidents
of every category are compared. The baseline, in the same run and interleaved with them: the same
declarations by a worker keeping no index. Per declaration: time to the first GitLab write, the whole job,
and inside it the similar-incidents lookup (after the first write) and the index record (after the comment).
Uses Redis database 11 (flushed) unless --redis says otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402

from bench.store import drop_database, own_database, postgres_or_none  # noqa: E402
from service.config import Settings  # noqa: E402
from service.parts import SimilarPart  # noqa: E402
from service.rules import load_rules  # noqa: E402
from service.store import Store, open_store  # noqa: E402
from service.worker import enrich as enrich_module  # noqa: E402
from service.worker import install, process_delivery  # noqa: E402
from service.worker.runtime import build_runtime  # noqa: E402
from tests.conftest import SECRET, body  # noqa: E402
from tests.fakegitlab import FakeGitLab, FakeGitLabServer  # noqa: E402
from tests.rulesdir import TEST_RULES  # noqa: E402  the shipped rules with the fake GitLab's people on call
from tests.web.board.seed import incident  # noqa: E402

DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/incident_bot_latency"  # with --postgres alone: <this>_PID, dropped
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
WORDS = (
    "checkout payment gateway timeout database replica lag kubernetes node pool dns resolver certificate "
    "expired token queue backlog redis memory disk cache latency login webhook deploy rollback migration "
    "returns unreachable cluster search orders invoices"
).split()
TITLES = ("Checkout returns 500 errors", "Database cluster unreachable: checkout returns 500 errors")


class TimedFake(FakeGitLab):
    """The fake GitLab, noting when each issue's first write arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.first_write: dict[int, float] = {}

    def handle(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
        """Note the first write of the issue, then answer as the fake does."""
        if method != "GET" and (match := re.search(r"/projects/\d+/issues/(\d+)", url)):
            with self.lock:
                self.first_write.setdefault(int(match.group(1)), time.perf_counter())
        return super().handle(method, url, body, headers)


def fill(store: Store, count: int) -> None:
    """`count` past incidents over the last year, most resolved, a few confidential, words in common."""
    rng = random.Random(7)
    for n in range(count):
        store.record(
            incident(
                100_000 + n,
                " ".join(rng.sample(WORDS, 5)).capitalize(),
                now=NOW,
                started_minutes_ago=(count - n) * 200 + 60,
                resolved_minutes_ago=(count - n) * 200 if n % 10 else None,
                category=rng.choice(["availability", "availability", "performance", "security"]),
                description=" ".join(rng.choice(WORDS) for _ in range(60)),
                confidential=n % 25 == 0,
                project_id=1 + n % 3,
                project_path=f"acme/app{n % 3}",
            )
        )


class Timings:
    """Step durations of the current delivery, collected by wrapping the job's hooks."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn`, timed under `name`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - began

        return timed


def ms(values: list[float], q: float = 50) -> float:
    """A percentile of seconds, in milliseconds (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(int(q / 100 * len(ordered)), len(ordered) - 1)] * 1000


def run(args: argparse.Namespace) -> None:
    """Fill the index, then declare incidents with and without it, interleaved; print the figures."""
    rules = load_rules(TEST_RULES)
    url = args.postgres or f"sqlite:///{tempfile.mkdtemp(prefix='incident-bot-latency-')}/incidents.sqlite3"
    if args.postgres and postgres_or_none(args.postgres) is None:
        return
    store = open_store(url)
    if args.postgres:
        with store.engine.begin() as conn:  # a fresh index
            conn.exec_driver_sql("TRUNCATE incidents CASCADE")
    began = time.perf_counter()
    fill(store, args.past)
    print(f"index: {args.past} past incidents in {store.engine.dialect.name} ({time.perf_counter() - began:.1f} s)")
    fake = TimedFake()
    connection = Redis.from_url(args.redis)
    connection.flushdb()
    timings = Timings()
    figures: dict[str, dict[str, list[float]]] = {"index": {}, "no index": {}}
    original_enrichers = enrich_module.ENRICHERS  # the similar-incidents enricher's reads, timed
    enrich_module.ENRICHERS = tuple(
        dataclasses.replace(e, fill=timings.wrap("similar", e.fill)) if e.kind is SimilarPart else e
        for e in original_enrichers
    )
    try:
        with FakeGitLabServer(fake) as gitlab:
            settings = Settings(
                gitlab_url=gitlab.url,
                gitlab_token="bench-token",
                webhook_secret=SECRET,
                redis_url=args.redis,
                rules_dir=TEST_RULES,
            )
            with_index = build_runtime(settings, rules, connection, open_index=lambda: store)
            without = build_runtime(settings, rules, connection)
            assert with_index.index is not None
            with_index.index.record = timings.wrap("record", with_index.index.record)  # type: ignore[method-assign]
            for n in range(args.warmup + args.deliveries):
                for label, runtime in (("index", with_index), ("no index", without)):
                    iid = 1 + 2 * n + (label == "no index")
                    title = TITLES[n % 2]
                    fake.add_issue(1, iid, title=title)
                    install(runtime)
                    timings.steps = {}
                    meta = {"delivery_id": f"lat-{iid}", "event_uuid": f"uuid-{iid}", "event": "Issue Hook"}
                    start = time.perf_counter()
                    process_delivery(body("issue.open.incident", iid=iid, title=title), meta)
                    done = time.perf_counter()
                    if n < args.warmup:
                        continue
                    steps = {"first write": fake.first_write[iid] - start, "job": done - start, **timings.steps}
                    for step, seconds in steps.items():
                        figures[label].setdefault(step, []).append(seconds)
    finally:
        enrich_module.ENRICHERS = original_enrichers
        connection.flushdb()
        connection.close()
        store.engine.dispose()
    report(figures, args)


def report(figures: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    """The table: p50 and p95 of each step with and without the index, and the ratio of the p50s."""
    print(f"{args.deliveries} declarations each way, interleaved, after {args.warmup} warm-up pairs")
    print(f"    {'step':<14}{'index p50':>10}{'p95':>8}{'no index p50':>14}{'p95':>8}{'ratio p50':>11}")
    base = figures["no index"]
    for step in ("first write", "job", "similar", "record"):
        mine = figures["index"].get(step)
        if not mine:
            continue
        line = f"    {step:<14}{ms(mine):>10.2f}{ms(mine, 95):>8.2f}"
        if step in base:
            line += f"{ms(base[step]):>14.2f}{ms(base[step], 95):>8.2f}{ms(mine) / ms(base[step]):>10.2f}x"
        print(line)
    print("    (ms; similar: the lookup and the comment's list, after the first write; record: the index write)")


def main() -> int:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer past incidents and declarations")
    parser.add_argument("--past", type=int, help="past incidents in the index (default 2000; --quick 300)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=POSTGRES,
        help=f"the index in PostgreSQL: this database (its tables emptied), or one of this run's own ({POSTGRES}_PID)",
    )
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=f"Redis database to use and flush ({DEFAULT_REDIS})")
    args = parser.parse_args()
    args.past = args.past if args.past is not None else (300 if args.quick else 2000)
    args.deliveries, args.warmup = (40, 4) if args.quick else (150, 10)
    own = args.postgres == POSTGRES
    if own:
        args.postgres = own_database(POSTGRES)
    try:
        run(args)
    finally:
        if own:
            drop_database(args.postgres)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
