"""Chaos: deliveries keep coming while workers are stopped and killed and Redis restarts.

Real processes only: gunicorn (`incident-bot web`), `incident-bot worker` processes, a
redis-server of the test's own (append-only file, fsync per write), the fake GitLab over HTTP.
Every accepted delivery must be applied exactly once, in order per issue, and nothing may be
left queued, deferred, started or claimed. The schedule is random but seeded and bounded.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
import requests
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job

from service.queue import EventQueue
from tests.bursts import failure
from tests.conftest import payload
from tests.e2e.harness import Proc, RedisServer, Stack, calls, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

ISSUES = 50
UPDATES = 9  # per issue, after its opening: 50 x 10 = 500 deliveries
WORKERS = 3
SEED = int(os.environ.get("INCIDENT_BOT_CHAOS_SEED", "7"))  # another seed explores other moments
POISONED = (10, 20, 30, 40, 50)  # issues whose second event is a delivery the worker cannot parse
SETTLE_TIMEOUT = 300.0  # generous: killed jobs wait for heartbeats to lapse, retries for the scheduler


def opening(iid: int) -> bytes:
    """The Issue Hook that opens incident `iid`."""
    data = payload("issue.open.incident")
    data["object_attributes"].update(iid=iid, id=10_000 + iid)
    return json.dumps(data).encode()


def update(iid: int, n: int) -> bytes:
    """A Developer's comment `@incident-bot update chaos-<iid>-<n>` on incident `iid`."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note=f"@incident-bot update chaos-{iid}-{n}", id=100_000 + iid * 100 + n)
    data["issue"].update(iid=iid, id=10_000 + iid)
    return json.dumps(data).encode()


def deliver(stack: Stack, data: bytes, key: str) -> str:
    """POST until the delivery is accepted (202) or known (duplicate), as GitLab retries a 5xx."""
    for _ in range(3000):  # ~5 minutes of 503s at most
        try:
            response = stack.post(data, key=key)
        except requests.RequestException:
            time.sleep(0.1)
            continue
        if response.status_code == 503:
            time.sleep(0.1)
            continue
        answer = response.json()
        assert response.status_code in (200, 202), f"{key}: {response.status_code} {response.text}"
        assert answer.get("status") in ("queued", "duplicate", "spooled"), f"{key}: {answer}"
        return str(answer["job_id"])
    raise AssertionError(f"{key}: never accepted")


def poison(stack: Stack, iid: int) -> str:
    """A delivery the worker cannot parse, queued for `iid` behind its opening (as an older edge let through)."""
    key = f"poison-{iid}"
    for _ in range(3000):  # Redis may be restarting: try again, as the edge's client would get a 503
        try:
            EventQueue(stack.connection, stack.queue_name).enqueue(
                b'{"object_kind": "issue", "object_attributes": ',
                {"delivery_id": key},
                delivery_id=key,
                issue_key=f"1:{iid}",
                actor="alice",
            )
            return key
        except RedisError:
            time.sleep(0.1)
    raise AssertionError(f"{key}: never queued")


class Sender(threading.Thread):
    """Posts every delivery, issues interleaved, each issue's in order; records the accepted job ids."""

    def __init__(self, stack: Stack):
        super().__init__(name="sender", daemon=True)
        self.stack = stack
        self.accepted: dict[int, list[str]] = {iid: [] for iid in range(1, ISSUES + 1)}
        self.poisoned: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(UPDATES + 1):
                for iid in range(1, ISSUES + 1):
                    if n == 1 and iid in POISONED:
                        self.poisoned.append(poison(self.stack, iid))
                    data = opening(iid) if n == 0 else update(iid, n)
                    self.accepted[iid].append(deliver(self.stack, data, f"chaos-{iid}-{n}"))
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            self.error = exc


def chaos_notes(gitlab: FakeGitLab, iid: int) -> list[str]:
    """The `chaos-<iid>-<n>` markers of the bot's notes on `iid`, in the order GitLab got them."""
    with gitlab.lock:
        bodies = [n["body"] for n in gitlab.bot_notes(1, iid)]
    return [f"chaos-{iid}-{n}" for body in bodies for n in range(1, UPDATES + 1) if f"chaos-{iid}-{n}\n" in body + "\n"]


def settled(stack: Stack, gitlab: FakeGitLab, sender: Sender) -> bool:
    """Every update comment posted, and nothing left in any queue, registry or claims list."""
    if sender.is_alive() or any(len(chaos_notes(gitlab, iid)) < UPDATES for iid in range(1, ISSUES + 1)):
        return False
    try:
        return stack.idle() and not leftover_claims(stack.connection)
    except Exception:
        return False


def leftover_claims(connection: Redis) -> list[bytes | str]:
    """Job ids sitting in any worker's claims list."""
    return [job for key in connection.scan_iter("incident-bot:claims:*") for job in connection.lrange(key, 0, -1)]


def replace(stack: Stack, proc: Proc, sig: int, n: int) -> Proc:
    """Stop `proc` with `sig` (SIGKILL takes its whole tree, as a lost machine), start a fresh worker."""
    if sig == signal.SIGKILL:
        stack.kill(proc)
    else:
        proc.kill_group(signal.SIGTERM)  # a deploy: warm shutdown, the current job finishes first
        proc.popen.wait(timeout=180)
    return stack.start_worker(f"worker-{n}")


def test_every_accepted_delivery_is_applied_exactly_once_through_kills_and_redis_restarts(
    tmp_path: Path, fake_server: FakeGitLabServer, own_redis: RedisServer
) -> None:
    """500 deliveries over 50 issues (and 5 unparseable); workers SIGTERMed and SIGKILLed, Redis restarted twice."""
    gitlab = fake_server.fake
    for iid in range(1, ISSUES + 1):
        gitlab.add_issue(1, iid)
    rng = random.Random(SEED)
    stack = Stack(tmp_path, fake_server.url, own_redis.url)
    started = time.monotonic()
    try:
        stack.start_web(workers=2)
        workers = [stack.start_worker(f"worker-{n}") for n in range(WORKERS)]
        sender = Sender(stack)
        sender.start()
        # Seeded, bounded schedule: Redis restarts are apart, each between worker stops.
        actions = ["term", "kill", "redis-term", "kill", "term", "kill", "redis-kill", "term", "kill"]
        done: list[str] = []
        for n, action in enumerate(actions, start=WORKERS):
            time.sleep(rng.uniform(0.5, 2.0))
            if action.startswith("redis"):
                own_redis.stop(signal.SIGKILL if action == "redis-kill" else signal.SIGTERM)
                time.sleep(rng.uniform(2.0, 4.0))  # down for a few seconds
                own_redis.start()
            else:
                victim = workers.pop(rng.randrange(len(workers)))
                workers.append(replace(stack, victim, signal.SIGKILL if action == "kill" else signal.SIGTERM, n))
            done.append(action)
        sender.join(timeout=SETTLE_TIMEOUT)
        assert sender.error is None, f"sender failed: {sender.error!r}"
        wait_until(
            lambda: settled(stack, gitlab, sender),
            timeout=SETTLE_TIMEOUT,
            what="every delivery applied",
            describe=lambda: describe(stack, gitlab),
        )

        # Exactly once and in order: each issue's update comments are 1..9, once each, in that order.
        for iid in range(1, ISSUES + 1):
            assert chaos_notes(gitlab, iid) == [f"chaos-{iid}-{n}" for n in range(1, UPDATES + 1)], iid
            assert len(gitlab.bot_notes(1, iid)) == UPDATES + 1, iid  # one declaration note, one per update
        # Every accepted job finished; nothing failed, nothing is left anywhere.
        jobs = [Job.fetch(job_id, connection=stack.connection) for ids in sender.accepted.values() for job_id in ids]
        assert len(jobs) == ISSUES * (UPDATES + 1)
        assert {job.get_status() for job in jobs} == {"finished"}
        queue = Queue(stack.queue_name, connection=stack.connection)
        assert not leftover_claims(stack.connection)
        # The unparseable deliveries failed at once, with their reason, and held up nothing (the updates ran).
        assert sorted(queue.failed_job_registry.get_job_ids()) == sorted(sender.poisoned)
        for key in sender.poisoned:
            job = Job.fetch(key, connection=stack.connection)
            assert len(job.results()) == 1 and "delivery " + key in failure(job)
        # The workers not stopped on purpose rode out both Redis restarts.
        assert all(proc.popen.poll() is None for proc in workers)
        retried = sum(1 for job in jobs if (job.retries_left or 0) < 5)
        posts = sum(1 for c in calls(gitlab) if c.method == "POST" and c.path.endswith("/notes"))
        print(
            f"chaos (seed {SEED}): {len(jobs)} deliveries applied exactly once in {time.monotonic() - started:.0f}s; "
            f"{done}; {retried} jobs retried after a kill; {posts} note POSTs at GitLab"
        )
    finally:
        stack.stop()
        print(stack.output()[-20000:])


def describe(stack: Stack, gitlab: FakeGitLab) -> str:
    """What is still missing or pending, for a failed wait."""
    missing = {
        iid: len(chaos_notes(gitlab, iid)) for iid in range(1, ISSUES + 1) if len(chaos_notes(gitlab, iid)) < UPDATES
    }
    try:
        queue = Queue(stack.queue_name, connection=stack.connection)
        pending = (
            f"queued {queue.count}, started {queue.started_job_registry.count}, deferred "
            f"{queue.deferred_job_registry.count}, scheduled {queue.scheduled_job_registry.count}, "
            f"claims {leftover_claims(stack.connection)}"
        )
    except Exception as exc:
        pending = f"redis: {exc}"
    return f"issues missing updates (count so far): {missing}\n{pending}\n{stack.output()[-6000:]}"
