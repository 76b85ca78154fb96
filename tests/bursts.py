"""In-process burst workers, with RQ's scheduler clock moved forward by the test instead of waited for."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rq import Queue, SimpleWorker
from rq.job import Job

ROUNDS = 40  # bursts before giving up: each runs everything runnable, so a few are enough for any test


def bring_forward(queues: Sequence[Queue]) -> bool:
    """Jump the scheduler's clock to the earliest job scheduled on `queues`: it, and all due by then, are due now.

    A retry RQ scheduled a second ahead or a reminder due in minutes then runs at the next burst, so no test
    waits on the wall clock (or loses a race with it on a loaded machine). False when nothing is scheduled.
    """
    earliest: float | None = None
    for queue in queues:
        first = queue.connection.zrange(queue.scheduled_job_registry.key, 0, 0, withscores=True)
        if first and (earliest is None or float(first[0][1]) < earliest):
            earliest = float(first[0][1])
    if earliest is None:
        return False
    for queue in queues:
        key = queue.scheduled_job_registry.key
        due = queue.connection.zrangebyscore(key, "-inf", earliest)
        if due:  # redis-py types a member as any of its response shapes; these are job ids (bytes)
            queue.connection.zadd(key, {member: 0 for member in due if isinstance(member, bytes)})
    return True


def work_until(
    queues: Sequence[Queue], until: Callable[[], object], *, what: str = "the expected state", rounds: int = ROUNDS
) -> None:
    """Run burst workers (with the scheduler) until `until()` holds, bringing the next scheduled job forward
    between bursts; fail naming `what` after `rounds` bursts (a count, not a deadline)."""
    connection = queues[0].connection
    for _ in range(rounds):
        SimpleWorker(list(queues), connection=connection).work(burst=True, with_scheduler=True)
        if until():
            return
        bring_forward(queues)
    pending = {q.name: (q.count, q.scheduled_job_registry.count, q.deferred_job_registry.count) for q in queues}
    raise AssertionError(f"{what} not reached after {rounds} bursts; (queued, scheduled, deferred): {pending}")


def drained(queues: Sequence[Queue]) -> Callable[[], bool]:
    """A condition for `work_until`: nothing queued, scheduled or deferred on `queues`."""
    return lambda: not any(q.count or q.scheduled_job_registry.count or q.deferred_job_registry.count for q in queues)


def run_worker(queue: Queue) -> None:
    """Run burst workers until the queue and its scheduled retries are drained (retries brought forward)."""
    work_until([queue], drained([queue]), what="notification jobs drained")


def failure(job: Job) -> str:
    """The exception text of a job's latest result ("" when it has none)."""
    result = job.latest_result()
    return (result.exc_string or "") if result is not None else ""
