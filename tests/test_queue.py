"""The queue against the real Redis: dedupe, per-issue order with concurrent workers, retries, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus, validate_job_id
from rq.registry import FailedJobRegistry

from service.config import Settings
from service.queue import EnqueueOutcome, EventQueue, job_id_for
from service.worker import IncidentWorker, make_worker
from tests.bursts import drained, failure, work_until
from tests.conftest import ROOT, test_redis_url

RECORD = "tests.jobs.record"


def enqueue(q: EventQueue, delivery: str, issue: str = "1:23", **data: object) -> EnqueueOutcome:
    meta = {"delivery_id": delivery, "event": "Issue Hook"}
    return q.enqueue(json.dumps(data).encode(), meta, delivery_id=delivery, issue_key=issue, actor="alice").outcome


def ran(conn: Redis) -> list[dict[str, Any]]:
    return [json.loads(x) for x in conn.lrange("test:ran", 0, -1)]


def drain(conn: Redis, name: str) -> None:
    """Run burst workers (scheduled retries brought forward) until nothing is queued, scheduled or deferred."""
    queues = [Queue(name, connection=conn)]
    work_until(queues, drained(queues), what=f"queue {name} drained")


@contextmanager
def worker_processes(queue: str, monitoring: int = 5, slack: int = 10, maintenance: int = 10) -> Iterator[None]:
    """Two real IncidentWorker processes on `queue` (started by tests.jobs), stopped afterwards."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "tests.jobs", queue, str(monitoring), str(slack), str(maintenance)]
    procs = [
        subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        for _ in range(2)
    ]
    try:
        yield
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            for proc in procs:
                proc.wait(timeout=30)  # a warm stop: the running job finishes first
        finally:
            for proc in procs:  # nothing of the test outlives it, even when the stop above failed
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture()
def workers(redis_conn: Redis) -> Iterator[None]:
    """Two real worker processes on the `ordered` queue."""
    with worker_processes("ordered"):
        yield


def wait_for(predicate, timeout: float = 60.0) -> None:
    """Poll `predicate` until it holds; the timeout is a deadline for a hang, never a speed check."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_redelivery_is_dropped(redis_conn: Redis) -> None:
    """The same delivery id twice: one job, the second answered duplicate."""
    q = EventQueue(redis_conn, "dedupe", func=RECORD)
    assert enqueue(q, "d-1") is EnqueueOutcome.QUEUED
    assert enqueue(q, "d-1") is EnqueueOutcome.DUPLICATE
    assert Queue("dedupe", connection=redis_conn).job_ids == ["d-1"]


def test_redelivery_after_run_is_still_dropped(redis_conn: Redis) -> None:
    """A resend after the job finished (and even after its result expired) changes nothing."""
    q = EventQueue(redis_conn, "dedupe2", func=RECORD)
    enqueue(q, "d-2")
    drain(redis_conn, "dedupe2")
    Job.fetch("d-2", connection=redis_conn).delete()
    assert enqueue(q, "d-2") is EnqueueOutcome.DUPLICATE
    drain(redis_conn, "dedupe2")
    assert [r["id"] for r in ran(redis_conn)] == ["d-2"]


def test_job_ids_are_valid_for_rq() -> None:
    """Any Idempotency-Key becomes a valid RQ job id; GitLab's UUIDs are kept as they are."""
    assert job_id_for("3a427872-00df-429c-9bc9-a9475de2efe4") == "3a427872-00df-429c-9bc9-a9475de2efe4"
    odd = job_id_for("a key/with:odd chars")
    assert odd.startswith("key-")
    validate_job_id(odd)


def test_same_issue_runs_in_order_on_concurrent_workers(redis_conn: Redis, workers) -> None:
    """Two back-to-back events of one issue with two workers free: the second starts after the first ends."""
    q = EventQueue(redis_conn, "ordered", func=RECORD)
    assert enqueue(q, "first", hold=0.6) is EnqueueOutcome.QUEUED
    assert enqueue(q, "second") is EnqueueOutcome.DEFERRED
    wait_for(lambda: len(ran(redis_conn)) == 2)
    first, second = ran(redis_conn)
    assert (first["id"], second["id"]) == ("first", "second")
    assert second["start"] >= first["end"]


def test_different_issues_run_in_parallel(redis_conn: Redis, workers) -> None:
    """Events of two issues overlap in time on two workers: each holds until the other has started."""
    q = EventQueue(redis_conn, "ordered", func=RECORD)
    enqueue(q, "a", issue="1:1", hold_until="test:started:b")  # one at a time, neither could finish
    enqueue(q, "b", issue="1:2", hold_until="test:started:a")
    wait_for(lambda: len(ran(redis_conn)) == 2)
    a, b = sorted(ran(redis_conn), key=lambda r: r["id"])
    assert b["start"] < a["end"] and a["start"] < b["end"]


def beats_after(conn: Redis, queue: str, busy_with: str, moment: float) -> bool:
    """True once every worker on `queue` not running `busy_with` has heartbeaten `moment` or later."""
    idle = [w for w in Worker.all(queue=Queue(queue, connection=conn)) if w.get_current_job_id() != busy_with]
    return bool(idle) and all(w.last_heartbeat and w.last_heartbeat.timestamp() >= moment for w in idle)


def test_long_job_is_not_taken_for_abandoned(redis_conn: Redis) -> None:
    """A job running well past the heartbeat TTL keeps heartbeating: another worker never runs it again."""
    with worker_processes("long", monitoring=1, slack=1, maintenance=1):
        q = EventQueue(redis_conn, "long", func=RECORD)
        enqueue(q, "slow", hold_until="test:release")  # runs until the test has seen what it waits for
        wait_for(lambda: redis_conn.exists("test:started:slow"), timeout=60)
        lapsed = float(redis_conn.get("test:started:slow") or 0) + 2  # the TTL is 2 s: without heartbeats, gone here
        # The other worker loops every second (a heartbeat, then maintenance when a second has passed): three
        # seconds of its heartbeats after the lapse include a sweep for abandoned jobs, however slow the machine.
        wait_for(lambda: beats_after(redis_conn, "long", "slow", lapsed + 3), timeout=60)
        redis_conn.set("test:release", 1)
        queue = Queue("long", connection=redis_conn)
        wait_for(lambda: Job.fetch("slow", connection=redis_conn).get_status() == JobStatus.FINISHED, timeout=60)
        wait_for(lambda: queue.count == 0 and queue.started_job_registry.count == 0, timeout=60)
        assert [r["id"] for r in ran(redis_conn)] == ["slow"]
        assert Job.fetch("slow", connection=redis_conn).retries_left == 5  # never retried as abandoned


def test_failed_predecessor_does_not_block_the_issue(redis_conn: Redis) -> None:
    """When an earlier event finally fails, the later one still runs, after it."""
    q = EventQueue(redis_conn, "chain", func=RECORD, retry_intervals=())
    enqueue(q, "bad", fail=True)
    assert enqueue(q, "good") is EnqueueOutcome.DEFERRED
    drain(redis_conn, "chain")
    assert [r["id"] for r in ran(redis_conn)] == ["good"]
    assert Job.fetch("bad", connection=redis_conn).get_status() == JobStatus.FAILED


def test_retry_keeps_order(redis_conn: Redis) -> None:
    """An event being retried holds back the issue's next event until it succeeds."""
    q = EventQueue(redis_conn, "retry", func=RECORD, retry_intervals=(1,))
    redis_conn.set("test:fail-once", "1")
    enqueue(q, "flaky", fail_once=True)
    enqueue(q, "next")
    drain(redis_conn, "retry")
    assert [r["id"] for r in ran(redis_conn)] == ["flaky", "next"]


def test_failing_job_lands_in_failed_registry_with_reason(redis_conn: Redis) -> None:
    """A job that keeps failing is kept, with its reason, in RQ's failed registry."""
    q = EventQueue(redis_conn, "fails", func=RECORD, retry_intervals=(0, 0))
    enqueue(q, "doomed", fail=True)
    drain(redis_conn, "fails")
    registry = FailedJobRegistry("fails", connection=redis_conn)
    assert registry.get_job_ids() == ["doomed"]
    job = Job.fetch("doomed", connection=redis_conn)
    assert "asked to fail: doomed" in failure(job)


def two_queue_worker(conn: Redis, name: str) -> IncidentWorker:
    """The production worker shape: the deliveries queue and its notifications queue."""
    settings = Settings(job_monitoring_interval=1, heartbeat_slack=1, maintenance_interval=1)
    return make_worker(settings, conn, [name, f"{name}-notify"])


def take(worker: IncidentWorker) -> Job:
    """Dequeue one job the way the work loop does, and go no further (the process stops right here)."""
    worker.register_birth()
    found = worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert found is not None
    return found[0]


def test_job_taken_just_before_a_warm_stop_is_run_by_the_next_worker(redis_conn: Redis) -> None:
    """SIGTERM between dequeue and start: the job and the issue's next event still run, in order."""
    q = EventQueue(redis_conn, "warm", func=RECORD)
    enqueue(q, "first")
    assert enqueue(q, "second") is EnqueueOutcome.DEFERRED
    stopping = two_queue_worker(redis_conn, "warm")
    assert take(stopping).id == "first"
    stopping.teardown()  # what the warm shutdown runs on its way out
    two_queue_worker(redis_conn, "warm").work(burst=True)
    assert [r["id"] for r in ran(redis_conn)] == ["first", "second"]
    assert Queue("warm", connection=redis_conn).deferred_job_registry.count == 0


def test_job_taken_by_a_killed_worker_is_swept_back(redis_conn: Redis) -> None:
    """SIGKILL between dequeue and start: once the dead worker's heartbeat lapses, another worker runs it."""
    q = EventQueue(redis_conn, "swept", func=RECORD)
    enqueue(q, "first")
    enqueue(q, "second")
    killed = two_queue_worker(redis_conn, "swept")
    assert take(killed).id == "first"
    redis_conn.delete(f"incident-bot:alive:{killed.name}")  # its short heartbeat TTL ran out
    two_queue_worker(redis_conn, "swept").work(burst=True)
    assert [r["id"] for r in ran(redis_conn)] == ["first", "second"]


def test_a_claim_handed_back_is_never_run_twice(redis_conn: Redis) -> None:
    """A worker presumed dead but alive (a long stall) does not run the job a sweep gave to another."""
    q = EventQueue(redis_conn, "stall", func=RECORD)
    enqueue(q, "only")
    stalled = two_queue_worker(redis_conn, "stall")
    job = take(stalled)
    redis_conn.delete(f"incident-bot:alive:{stalled.name}")
    two_queue_worker(redis_conn, "stall").work(burst=True)
    stalled.execute_job(job, Queue("stall", connection=redis_conn))
    assert [r["id"] for r in ran(redis_conn)] == ["only"]
    assert Job.fetch("only", connection=redis_conn).get_status() == JobStatus.FINISHED


KILLED_DRAIN = """
import os, signal, sys
from pathlib import Path
from redis import Redis
from service.intake import Intake
from service.queue import EventQueue
from service.spool import Spool
queue = EventQueue(Redis.from_url(sys.argv[2]), "spooldrain", func="tests.jobs.record")
real, taken = queue.enqueue, []
def enqueue(*args, **kwargs):
    result = real(*args, **kwargs)
    taken.append(result)
    if len(taken) == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # after the third enqueue, before the spool knows
    return result
queue.enqueue = enqueue
Intake(queue, Spool(Path(sys.argv[1]))).drain()
"""


def test_a_drain_killed_between_enqueue_and_removal_applies_nothing_twice(redis_conn: Redis, tmp_path) -> None:
    """A web process SIGKILLed mid-drain re-sends what it had enqueued: the queue drops it, each runs once, in order."""
    from service.intake import Intake  # the spool's drain, tested here for the queue's half of its promise
    from service.spool import Record, Spool

    spool = Spool(tmp_path)
    for n in range(6):
        spool.append(Record(b"{}", {"delivery_id": f"s-{n}"}, f"s-{n}", "1:23", "alice"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", KILLED_DRAIN, str(tmp_path), test_redis_url()], env=env, cwd=ROOT)
    assert child.returncode == -signal.SIGKILL
    assert Queue("spooldrain", connection=redis_conn).job_ids == ["s-0"]  # s-1 and s-2 wait behind it
    assert spool.depth() == 6  # the killed drain removed nothing
    assert Intake(EventQueue(redis_conn, "spooldrain", func=RECORD), spool).drain() == 6
    assert not spool.pending()
    drain(redis_conn, "spooldrain")
    assert [r["id"] for r in ran(redis_conn)] == [f"s-{n}" for n in range(6)]


def test_a_stopping_worker_does_not_wait_out_its_listener(redis_conn: Redis) -> None:
    """A worker's stop returns at once even when its pubsub listener has already seen the unsubscribe.

    RQ unsubscribes, then stops the listener thread; redis-py's stop() joins that thread without a bound, and a
    listener that read the UNSUBSCRIBE reply first waits out its 60 s poll: `incident-bot worker` took up to a
    minute to stop on SIGTERM (and burst workers in tests stalled a minute at random).
    """
    worker = make_worker(Settings(), redis_conn, ["stopping"])
    worker.subscribe()
    assert worker.pubsub is not None
    worker.pubsub.unsubscribe()  # the race's first half: the listener reads the reply and starts its long wait
    wait_for(lambda: worker.pubsub is not None and not worker.pubsub.subscribed)
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(timeout=30)  # a bound on a hang, not a speed check: the stall was 60 s
    assert not stopping.is_alive()


def test_a_deferred_chain_leaves_no_key_without_an_expiry(redis_conn: Redis) -> None:
    """Events of one issue queued behind each other, then run: no dependency key is left for ever.

    The enqueue script named the deferred job's dependencies set `rq:job:<id>:dependencies`; RQ 3 reads, expires and
    deletes `rq:job::<id>:dependencies`, so every deferred delivery left a key with no TTL behind.
    """
    q = EventQueue(redis_conn, "chainkeys", func=RECORD)
    assert [enqueue(q, f"c-{n}") for n in range(5)] == [EnqueueOutcome.QUEUED] + [EnqueueOutcome.DEFERRED] * 4
    drain(redis_conn, "chainkeys")
    assert [r["id"] for r in ran(redis_conn)] == [f"c-{n}" for n in range(5)]
    forever = [k.decode() for k in redis_conn.scan_iter("rq:job:*") if redis_conn.ttl(k) == -1]
    assert forever == []
