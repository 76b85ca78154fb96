"""An acknowledgement racing an escalation step: whichever reaches the issue's queue first, nobody is paged after
the acknowledgement, and it is said once. Both are deliveries of the incident's ordered queue
(`service.paging.deliveries`), queued here as the ack link and the step job queue them, and run by the
production worker; the pages themselves are looked at in the notify queue, not sent."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from redis import Redis

from service.config import Settings
from service.incident import strip_memory
from service.paging import deliveries
from service.worker import make_worker
from service.worker.pagestep import page_step
from service.worker.runtime import Runtime
from tests.fakegitlab import FakeGitLab
from tests.paging.helpers import declare, pages, steps

ACKED = "Page acknowledged by @eoc-carol"
ESCALATED = "paging the next level"


def _notes(fake: FakeGitLab) -> list[str]:
    return [strip_memory(n["body"]) for n in fake.bot_notes()]


def _run(redis_conn: Redis, runtime: Runtime) -> None:
    make_worker(Settings(), redis_conn, [runtime.settings.queue_name]).work(burst=True, logging_level="WARNING")


def _both(runtime: Runtime, redis_conn: Redis) -> tuple[Callable[[], object], Callable[[], object]]:
    """The ack link's delivery and step 1's job, as the two sides of the race."""
    (args,) = steps(redis_conn)
    page = args[3]
    queue = runtime.followups.deliveries if runtime.followups else None
    assert queue is not None
    body = deliveries.payload(1, "group/project", 23, actor="eoc-carol")
    ident = deliveries.ack_delivery_id(1, 23, "nonce-1")
    return (lambda: deliveries.enqueue(queue, body, ident, f"ack:{page}:eoc-carol")), (lambda: page_step(*args))


@pytest.mark.parametrize("order", ["ack first", "step first", "at once"])
def test_nobody_is_paged_after_the_ack(fake: FakeGitLab, pruntime: Runtime, redis_conn: Redis, order: str) -> None:
    declare(fake)
    ack, step = _both(pruntime, redis_conn)
    if order == "at once":
        start = threading.Barrier(2)
        threads = [threading.Thread(target=lambda f=f: (start.wait(), f())) for f in (ack, step)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for side in (ack, step) if order == "ack first" else (step, ack):
            side()
    _run(redis_conn, pruntime)
    notes = _notes(fake)
    (acked,) = [i for i, n in enumerate(notes) if n.startswith(ACKED)]  # said once
    assert not any(ESCALATED in n for n in notes[acked:])
    escalated = any(ESCALATED in n for n in notes)
    assert escalated == (order == "step first") or order == "at once"
    paged = len(pages(redis_conn))
    for args in steps(redis_conn):  # whatever steps are still scheduled fall due: nothing more is paged
        page_step(*args)
    _run(redis_conn, pruntime)
    assert len(pages(redis_conn)) == paged and _notes(fake) == notes
