"""Failures the bot must survive: a killed worker, a flaky GitLab, Redis going away and coming back."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from service.incident import MARKER, read_memory
from service.keys import Keys
from service.queue import RETRY_INTERVALS
from tests.conftest import body
from tests.e2e.harness import RedisServer, Stack, accepted, calls, private_redis, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = pytest.mark.e2e

ISSUE = "/projects/1/issues/23"
# Job monitoring 1 s + heartbeat slack 2 s + maintenance 2 s + retry interval, with a wide margin.
RECOVERY_TIMEOUT = 30.0
OPEN_LABELS = {"incident-category::availability", "incident::identification", "severity::3"}


def assert_applied_once(gitlab: FakeGitLab, delivery: str) -> None:
    """The opened incident carries its labels and assignee, and the bot commented exactly once."""
    assert gitlab.labels() == OPEN_LABELS
    assert len(gitlab.issues[(1, 23)]["assignees"]) == 1
    notes = gitlab.bot_notes()
    assert len(notes) == 1, [n["body"][:80] for n in notes]
    assert f"<!-- {MARKER} " in notes[0]["body"]
    assert (read_memory(notes[0]["body"]) or {})["deliveries"] == [delivery]


def test_event_held_by_a_killed_worker_is_applied_exactly_once(stack: Stack, gitlab: FakeGitLab) -> None:
    """SIGKILL of the worker mid-PUT: a new worker finishes the event, one note only."""
    stack.start_web()
    doomed = stack.start_worker("worker-killed")
    gitlab.delay[("PUT", ISSUE)] = 3.0
    job_id = accepted(stack.post(body("issue.open.incident"), key="open-1", event_uuid="uuid-open"))
    wait_until(lambda: any(c.method == "PUT" and c.path == ISSUE for c in calls(gitlab)), what="the PUT at the fake")
    stack.kill(doomed)
    stack.start_worker("worker-new")

    stack.wait_finished(job_id, timeout=RECOVERY_TIMEOUT)
    assert_applied_once(gitlab, "open-1")
    job = stack.job(job_id)
    assert job.get_status() == "finished"
    # The kill really interrupted the job: it finished on a retry, not in the killed worker.
    assert job.retries_left == len(RETRY_INTERVALS) - 1


@pytest.mark.parametrize(
    ("failures", "job_retries"),
    [
        pytest.param(2, 0, id="session-retries"),
        # 4 attempts per call (max_retries=3) all fail: the job fails and RQ runs it again.
        pytest.param(5, 1, id="rq-retries-the-job"),
    ],
)
def test_transient_gitlab_errors_are_retried_and_applied_once(
    stack: Stack, gitlab: FakeGitLab, failures: int, job_retries: int
) -> None:
    """GitLab answering 502 to the issue PUT a few times still ends with the event applied exactly once."""
    stack.start_web()
    stack.start_worker()
    gitlab.fail("PUT", ISSUE, 502, times=failures)
    job_id = accepted(stack.post(body("issue.open.incident"), key="open-1", event_uuid="uuid-open"))
    stack.wait_finished(job_id, timeout=RECOVERY_TIMEOUT)
    assert_applied_once(gitlab, "open-1")
    assert sum(1 for c in calls(gitlab) if c.method == "PUT" and c.path == ISSUE) == failures + 1
    assert not gitlab.failures
    assert stack.job(job_id).retries_left == len(RETRY_INTERVALS) - job_retries


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone: stopping the shared one would break every other test."""
    with private_redis(tmp_path / "redis") as server:
        yield server


def test_redis_outage_is_spooled_and_recovers_without_restart(
    tmp_path: Path, fake_server: FakeGitLabServer, own_redis: RedisServer
) -> None:
    """Redis down: the edge answers 202 spooled, not 503; Redis back: the spool reaches the queue, same processes."""
    stack = Stack(tmp_path, fake_server.url, own_redis.url)
    try:
        stack.start_web(workers=2)
        web = stack.procs[0]
        assert accepted(stack.post(body("issue.open.incident"), key="before"))
        own_redis.stop()
        # Both gunicorn workers must spool: post more than once so each is likely hit.
        jobs = [Keys.of_queue(stack.queue_name).job_id(f"down-{n}") for n in range(4)]  # the deployment's job ids
        for n in range(4):
            down = stack.post(body("issue.open.incident"), key=f"down-{n}")
            assert down.status_code == 202 and down.json() == {"status": "spooled", "job_id": jobs[n]}, down.text
        assert requests.get(f"{stack.url}/readyz", timeout=5).status_code == 503
        own_redis.start()
        # The web processes drain their spool by themselves; then deliveries go straight to the queue again.
        wait_until(lambda: all(stack.connection.exists(f"rq:job:{job}") for job in jobs), what="spool drained")
        for n in range(4):
            assert accepted(stack.post(body("issue.open.incident"), key=f"after-{n}"))
        assert requests.get(f"{stack.url}/readyz", timeout=5).status_code == 200
        assert web.popen.poll() is None
        # The spooled deliveries were recorded by the queue: a resend is a duplicate.
        again = stack.post(body("issue.open.incident"), key="down-0")
        assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    finally:
        stack.stop()
        print(stack.output())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["redis-sigterm", "redis-sigkill"])
def test_worker_rides_out_a_redis_restart_in_the_middle_of_a_job(
    tmp_path: Path, fake_server: FakeGitLabServer, sig: int
) -> None:
    """Redis goes away while a job runs and is still away when it ends: the same worker finishes it, once."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder, persistent=True)
    server.start()
    gitlab = fake_server.fake
    stack = Stack(tmp_path, fake_server.url, server.url)
    try:
        stack.start_web()
        worker = stack.start_worker()
        gitlab.delay[("PUT", ISSUE)] = 2.0
        job_id = accepted(stack.post(body("issue.open.incident"), key="open-1"))
        wait_until(lambda: any(c.method == "PUT" and c.path == ISSUE for c in calls(gitlab)), what="the PUT")
        server.stop(sig)
        wait_until(
            lambda: "create_note" in worker.output() or "Redis unavailable" in worker.output(),
            what="the job ending while Redis is down",
            describe=worker.output,
        )
        server.start()
        stack.wait_finished(job_id, timeout=RECOVERY_TIMEOUT)
        assert_applied_once(gitlab, "open-1")
        # The same process carries on: a later event of the issue is applied by it.
        del gitlab.delay[("PUT", ISSUE)]
        later = accepted(stack.post(body("issue.update.severity"), key="sev-1"))
        stack.wait_finished(later, timeout=RECOVERY_TIMEOUT)
        assert worker.popen.poll() is None, worker.output()
        assert "quitting" not in worker.output()
    finally:
        stack.stop()
        server.stop()
        print(stack.output())
