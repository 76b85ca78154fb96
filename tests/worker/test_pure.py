"""Every job kind fails a delivery its pure steps cannot read once, not retried, and goes on with the next.

The issue deliveries' parse and plan are covered in test_worker.py; here the change hooks (issue 19) and the
alert notifications (issue 18), queued as the edge queues them and run by the production worker.
"""

from __future__ import annotations

import json

from rq.job import Job, JobStatus

from service.config import Settings
from service.jobs import ALERT_FUNC, PROCESS_FUNC
from service.queue import EventQueue
from service.worker import make_worker
from tests.bursts import failure
from tests.conftest import payload


def _run(redis_conn, name: str, func: str, deliveries: list[tuple[str, bytes, dict]]) -> list[Job]:
    queue = EventQueue(redis_conn, name, func=func)
    for key, data, meta in deliveries:
        queue.enqueue(data, {"delivery_id": key, **meta}, delivery_id=key, issue_key="group:1", actor="alertmanager")
    make_worker(Settings(), redis_conn, [name]).work(burst=True, logging_level="WARNING")
    return [Job.fetch(key, connection=redis_conn) for key, _, _ in deliveries]


def test_a_change_hook_that_cannot_parse_fails_once_and_the_next_runs(runtime, redis_conn) -> None:
    hook = {"event": "Deployment Hook"}
    bad = {**payload("deployment.success.docs"), "status": ["success"]}
    bad_job, good_job = _run(
        redis_conn,
        "changes",
        PROCESS_FUNC,
        [
            ("bad", json.dumps(bad).encode(), hook),
            ("good", json.dumps(payload("deployment.success.docs")).encode(), hook),
        ],
    )
    assert bad_job.get_status() == JobStatus.FAILED and len(bad_job.results()) == 1  # never retried
    assert "PayloadError: delivery bad: " in failure(bad_job)
    assert good_job.get_status() == JobStatus.FINISHED


def test_an_alert_that_cannot_parse_fails_once_and_the_next_runs(runtime, redis_conn) -> None:
    source = {"source": "alertmanager"}
    bad_job, good_job = _run(
        redis_conn, "alerts", ALERT_FUNC, [("bad", b'{"alerts": 5}', source), ("good", b'{"alerts": 5}', source)]
    )
    for job in (bad_job, good_job):  # one group's later notifications are not held behind a failed one
        assert job.get_status() == JobStatus.FAILED and len(job.results()) == 1
    assert "PayloadError: alert bad: " in failure(bad_job)
