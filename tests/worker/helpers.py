"""What several worker tests do: run deliveries with the production worker, deliver a hook in process."""

from __future__ import annotations

from rq.job import Job

from service.queue import EventQueue
from service.rules import RuleSet
from service.worker import process_delivery
from tests.conftest import NOW


def run_queued(redis_conn, name: str, deliveries: list[tuple[str, bytes]]) -> list[Job]:
    """Enqueue deliveries of issue 1#23 as the edge does and run them with the production worker, burst."""
    from service.config import Settings
    from service.worker import make_worker

    queue = EventQueue(redis_conn, name)
    for key, data in deliveries:
        queue.enqueue(data, {"delivery_id": key}, delivery_id=key, issue_key="1:23", actor="alice")
    make_worker(Settings(), redis_conn, [name]).work(burst=True)
    return [Job.fetch(key, connection=redis_conn) for key, _ in deliveries]


def send(data: bytes, event: str, key: str) -> str:
    """Through the real job, in process (GitLab is the fake behind `responses`)."""
    return process_delivery(data, {"delivery_id": key, "event_uuid": key})


def on_call(rules: RuleSet, rotation: str) -> str:
    """Who the rotation has on call at the runtime's clock."""
    user = rules.rotations[rotation].on_call(NOW)
    assert user is not None
    return user
