"""RQ's storage in Redis: the only module that knows how RQ keeps its jobs, queues and registries.

The edge writes jobs with its own Lua script (service/queue.py), workers move them with theirs
(service/worker/recovery.py) and `/metrics` reads queue depths straight from Redis (service/metrics.py): all
of them take the names of RQ's keys, and the job hash RQ expects, from here. Every name is RQ's own (rq 3:
`Job.key_for`, `Job.dependencies_key`, `Queue.redis_queue_namespace_prefix`, the registries' `key`), never
spelled by hand: a hand-written `rq:job:<id>:dependencies` once drifted from RQ's `rq:job::<id>:dependencies`
and leaked one key per deferred delivery. tests/test_rqstore.py checks each name against RQ's objects, and
that no other module spells an `rq:` key.
"""

from __future__ import annotations

import pickle
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import DeferredJobRegistry, FailedJobRegistry
from rq.utils import utcparse

# A job's hash is JOB_PREFIX + id; a queue's list QUEUE_PREFIX + name; QUEUES_KEY the set of every queue's key.
JOB_PREFIX: str = Job.redis_job_namespace_prefix
QUEUE_PREFIX: str = Queue.redis_queue_namespace_prefix
QUEUES_KEY: str = Queue.redis_queues_keys

# A job's statuses that mean "not applied yet": the enqueue script defers an issue's new event behind one of these.
PENDING: tuple[str, ...] = tuple(
    status.value
    for status in (
        JobStatus.QUEUED,
        JobStatus.STARTED,
        JobStatus.SCHEDULED,
        JobStatus.DEFERRED,
        JobStatus.READY_TO_ENQUEUE,
        JobStatus.CREATED,
    )
)


def job_key(job_id: str) -> str:
    """The hash RQ keeps job `job_id` in."""
    return Job.key_for(job_id)


def dependents_key(job_id: str) -> str:
    """The set of the jobs RQ enqueues when job `job_id` finishes (or finally fails)."""
    return DEPENDENTS_KEY[0] + job_id + DEPENDENTS_KEY[1]


# RQ's `Job.dependents_key_for`, before and after the id: the enqueue script builds the key of a job id it reads
# in Redis (the previous event), so it is given these two parts rather than a key.
_BEFORE, _AFTER = Job.dependents_key_for("\0").split("\0")
DEPENDENTS_KEY: tuple[str, str] = (_BEFORE, _AFTER)


def dependencies_key(job_id: str) -> str:
    """The set RQ keeps a deferred job's dependencies in, named by RQ's own `Job.dependencies_key`.

    RQ 3 spells it with two colons after `job` and expires and deletes that key with the job; a hand-written
    `job:<id>:dependencies` was never read nor expired, and one leaked for every deferred delivery.
    """
    return _DEPENDENCIES[0] + job_id + _DEPENDENCIES[1]


def _rq_dependencies_key(job_id: str) -> str:
    job = Job.__new__(Job)  # no connection, no Redis call: only the attribute the property reads
    job._id = job_id
    return str(job.dependencies_key)


# Worked out once from RQ's property (the enqueue is the edge's hot path): the parts before and after the id.
_DEPENDENCIES = tuple(_rq_dependencies_key("\0").split("\0"))


def queue_key(name: str) -> str:
    """The list of queue `name`'s waiting job ids (what `Queue(name).key` names)."""
    return QUEUE_PREFIX + name


def failed_key(name: str) -> str:
    """The sorted set of queue `name`'s failed jobs."""
    return str(FailedJobRegistry(name).key)


def deferred_key(name: str) -> str:
    """The sorted set of queue `name`'s jobs waiting on another job."""
    return str(DeferredJobRegistry(name).key)


def job_fields(
    connection: Redis,
    func: str,
    *,
    queue_name: str,
    timeout: int,
    result_ttl: int,
    retry_intervals: tuple[int, ...],
) -> dict[str, Any]:
    """The fields of a job hash in RQ's own format that are the same for every job of `func` on `queue_name`.

    Taken from a template `Job` (no Redis call). Left out: `data`, `created_at`, `enqueued_at`, `description`
    (each job's own) and `status` (the writer's choice: queued, or deferred behind another job).
    """
    template = Job.create(
        func,
        args=(b"", {}),
        connection=connection,
        origin=queue_name,
        timeout=timeout,
        result_ttl=result_ttl,
        retry=Retry(max=len(retry_intervals), interval=list(retry_intervals)) if retry_intervals else None,
    )
    fields = template.to_dict()
    for dynamic in ("data", "created_at", "enqueued_at", "description", "status"):
        fields.pop(dynamic, None)
    return {k: v for k, v in fields.items() if v != ""}


def job_own_fields(func: str, args: tuple[Any, ...], *, description: str, stamp: str) -> list[Any]:
    """The fields of a job hash that are each job's own, in RQ's format, as HSET arguments after `job_fields`.

    The call `func(*args)` pickled as RQ's default serializer reads it, not compressed (zlib costs ~50 µs a
    delivery on the edge's hot path, and RQ reads uncompressed data as is); `stamp` is `rq.utils.utcformat`'s.
    """
    data = pickle.dumps((func, None, args, {}), protocol=pickle.HIGHEST_PROTOCOL)
    return ["data", data, "created_at", stamp, "enqueued_at", stamp, "description", description]


def enqueued_at(connection: Redis, job_id: str) -> float | None:
    """When job `job_id` was enqueued, in seconds since the epoch: None when it is gone, 0 when unreadable."""
    stamp = connection.hget(job_key(job_id), "enqueued_at")
    if not stamp:
        return None
    try:
        return float(utcparse(stamp.decode() if isinstance(stamp, bytes) else str(stamp)).timestamp())
    except ValueError:
        return 0.0
