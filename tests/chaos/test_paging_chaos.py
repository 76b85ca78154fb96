"""Chaos: a worker SIGKILLed and Redis restarted (SIGKILL, append-only file) in the middle of an escalation.

Real processes (gunicorn web, RQ workers, a redis-server of the test's own), a real receiver per channel, a paging
minute of 0.3 s. Each step is a scheduled job in Redis, so the killed worker loses none (another worker's scheduler
moves it once the dead one's scheduler lock lapses, about a minute) and Redis, restarted from its append-only file,
loses none; the pages are keyed, so none is sent twice. The escalation ends exactly as an undisturbed one does.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from redis import Redis

from tests.e2e.harness import RedisServer, wait_until
from tests.fakegitlab import FakeGitLabServer
from tests.paging.helpers import Receivers, assert_whole_escalation, declare_severity_1, notes, paging_stack
from tests.paging.pagingrules import paging_rules

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def test_a_killed_worker_and_a_restarted_redis_lose_no_step_and_double_no_page(
    tmp_path: Path, fake_server: FakeGitLabServer, own_redis: RedisServer
) -> None:
    """Worker SIGKILLed after level 1, Redis SIGKILLed and restarted after level 2: the whole escalation, once."""
    fake_server.fake.add_issue(1, 23)
    rules_dir = paging_rules(tmp_path / "paging")
    receivers = Receivers(rules_dir)
    stack = paging_stack(tmp_path, fake_server.url, own_redis.url, rules_dir, "0.3", **receivers.env())
    try:
        stack.start_web()
        first = stack.start_worker("worker-1")
        declare_severity_1(stack, fake_server.fake)
        # Each kill comes once the level's pages are recorded as sent (the marker is written after the receiver
        # answers): a kill between the receiver's answer and that marker is the one window a page is sent again
        # (at least once, with the same dedupe key: docs/guarantees.md), which this test is not about.
        sent = Redis.from_url(own_redis.url)

        def recorded(*contacts: str) -> bool:
            return all(any(sent.scan_iter(match=f"*notified*{contact}*")) for contact in contacts)

        wait_until(lambda: len(receivers.pages("pager-carol")) == 1, what="level 1 paged")
        wait_until(lambda: recorded("pager-carol", "carol@example.com"), what="level 1's pages recorded")
        stack.kill(first)
        stack.start_worker("worker-2")
        wait_until(lambda: len(receivers.pages("pager-bob")) == 1, timeout=120, what="level 2 paged after the kill")
        wait_until(lambda: recorded("pager-bob"), what="level 2's page recorded")
        own_redis.stop(signal.SIGKILL)
        time.sleep(1)
        own_redis.start()
        gitlab = fake_server.fake
        wait_until(lambda: "Nobody acknowledged the page" in "\n".join(notes(gitlab)), timeout=180, what="the end")
        wait_until(
            lambda: any("Page not acknowledged" in r.body.decode() for r in receivers.http["responders"].delivered)
        )
        wait_until(stack.settled, timeout=120, what="nothing left to run or scheduled")  # a second send would be
        assert_whole_escalation(receivers, gitlab)
    finally:
        stack.stop()
        receivers.close()
        print(stack.output())
