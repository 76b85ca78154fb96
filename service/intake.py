"""The edge's way into the queue: straight in while Redis answers, into the local spool while it does not.

A Redis restart or a Sentinel failover then refuses no delivery (GitLab does not redeliver one it was
refused). Order per issue holds across the spool: while anything is spooled, on this host, a new delivery
is spooled behind it, and a drain moves the spool into the queue oldest first, before the delivery that
found it non-empty. A drain that dies between enqueueing a record and removing it sends it again; the
queue drops a delivery id it has already taken (`EventQueue.enqueue`), so nothing is applied twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from functools import partial
from typing import Any

from redis.exceptions import RedisError

from . import logs
from .queue import Enqueued, EnqueueOutcome, EventQueue, job_id_for
from .spool import Record, Spool, SpoolError

log = logging.getLogger("incident_bot.web")
DRAIN_INTERVAL = 0.25  # seconds between a web process's looks at the spool (a directory listing)

__all__ = ["Intake", "SpoolError"]


class Intake:
    """EventQueue.enqueue with the spool behind it, and the drain thread of each process that uses it."""

    def __init__(self, queue: EventQueue, spool: Spool, interval: float = DRAIN_INTERVAL):
        self.queue = queue
        self.spool = spool
        self.interval = interval
        self._healthy = True  # the last call to Redis answered; while not, only the drain thread tries it
        self._pid = 0
        self._closed = threading.Event()
        # gunicorn forks its workers from the process that made the app (preload): each starts draining at once,
        # so a spool left by a process that died is queued without waiting for a delivery to come in.
        os.register_at_fork(after_in_child=partial(_start_in_child, weakref.ref(self)))

    def enqueue(self, body: bytes, meta: dict[str, Any], *, delivery_id: str, issue_key: str, actor: str) -> Enqueued:
        """Queue the delivery, or spool it (EnqueueOutcome.SPOOLED); SpoolError when neither can take it."""
        if self._pid != os.getpid():  # not started by a fork: the first delivery starts this process's drain thread
            self._start()
        waiting = self.spool.pending()
        if waiting and self._healthy:
            self.drain(batches=1)  # a request moves one batch at most; the drain thread moves the rest
            waiting = self.spool.pending()
        if not waiting:
            try:
                result = self.queue.enqueue(body, meta, delivery_id=delivery_id, issue_key=issue_key, actor=actor)
            except RedisError as exc:
                self._healthy = False
                log.warning("queue unavailable, spooling deliveries: %s", exc)
            else:
                self._healthy = True
                return result
        self.spool.append(Record(body, meta, delivery_id, issue_key, actor))
        logs.bind(log, delivery=delivery_id, issue=issue_key).info("spooled")
        return Enqueued(outcome=EnqueueOutcome.SPOOLED, job_id=job_id_for(delivery_id, self.queue.keys))

    def drain(self, batches: int | None = None) -> int:
        """Move the spool into the queue, oldest first, as far as Redis answers now; how many records moved."""
        started, total = time.monotonic(), 0
        while batches is None or batches > 0:
            batches = None if batches is None else batches - 1
            try:
                moved = self.spool.drain(self._deliver)
            except RedisError as exc:
                self._healthy = False
                log.debug("spool drain stopped: %s", exc)
                break
            except (OSError, SpoolError) as exc:
                log.error("spool drain failed: %s", exc)
                break
            if not moved:  # nothing left, or another thread or process is draining
                break
            total += moved
            self._healthy = True
        if total:
            log.info("spool: %d deliveries moved to the queue in %.2f s", total, time.monotonic() - started)
        return total

    def _deliver(self, record: Record) -> None:
        try:
            self.queue.enqueue(
                record.body,
                record.meta,
                delivery_id=record.delivery_id,
                issue_key=record.issue_key,
                actor=record.actor,
            )
        except RedisError:
            raise  # Redis is away again: the record stays first in line
        except Exception:  # noqa: BLE001 - one record the queue refuses must not hold every later one in the spool
            logs.bind(log, delivery=record.delivery_id).exception("spooled delivery cannot be queued; dropped")

    def _start(self) -> None:
        self._pid = os.getpid()
        thread = threading.Thread(target=_drain_loop, args=(weakref.ref(self),), name="spool-drain", daemon=True)
        thread.start()

    def close(self) -> None:
        """Stop this process's drain thread (at its next look)."""
        self._closed.set()


def _start_in_child(ref: weakref.ref[Intake]) -> None:
    intake = ref()
    if intake is not None and not intake._closed.is_set():
        intake._start()


def _drain_loop(ref: weakref.ref[Intake]) -> None:
    """Drain whenever records wait; ends with its Intake (closed or collected)."""
    while True:
        intake = ref()
        if intake is None or intake._closed.is_set():
            return
        if intake.spool.pending():
            intake.drain()
        closed, interval = intake._closed, intake.interval
        del intake  # hold no reference while waiting, so an unused Intake can be collected
        if closed.wait(interval):
            return
