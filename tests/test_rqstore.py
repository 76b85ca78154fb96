"""RQ's storage is known in one module, and every key it names is the one RQ's own objects name.

A hand-written `rq:job:<id>:dependencies` drifted from RQ 3's `rq:job::<id>:dependencies` and leaked one key per
deferred delivery (issue 17); naming every RQ key through `service.rqstore`, from RQ's API, keeps that from recurring.
"""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import DeferredJobRegistry, FailedJobRegistry

from service import rqstore

JOB_IDS = ["abc", "delivery-1", "staging-key-0123456789abcdef", "x_y"]
QUEUE_NAMES = ["incident-bot", "incident-bot-notify", "staging", "a:b"]


@pytest.mark.parametrize("job_id", JOB_IDS)
def test_job_keys_are_those_rq_names(job_id: str, redis_conn: Redis) -> None:
    job = Job(job_id, connection=redis_conn)
    assert rqstore.job_key(job_id) == job.key
    assert rqstore.dependencies_key(job_id) == job.dependencies_key
    assert rqstore.dependents_key(job_id) == job.dependents_key
    assert rqstore.JOB_PREFIX + job_id == job.key


@pytest.mark.parametrize("name", QUEUE_NAMES)
def test_queue_and_registry_keys_are_those_rq_names(name: str, redis_conn: Redis) -> None:
    queue = Queue(name, connection=redis_conn)
    assert rqstore.queue_key(name) == queue.key
    assert rqstore.QUEUE_PREFIX + name == queue.key
    assert rqstore.failed_key(name) == FailedJobRegistry(name, connection=redis_conn).key
    assert rqstore.deferred_key(name) == DeferredJobRegistry(name, connection=redis_conn).key
    assert rqstore.QUEUES_KEY == Queue.redis_queues_keys
