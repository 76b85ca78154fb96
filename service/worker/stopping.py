"""How the worker stops within seconds of SIGTERM, whatever it is doing (a mixin of `IncidentWorker`).

RQ 3's warm shutdown waits without bound in three places, each seen to hang a stop for 30 s and more:

- a job in progress is waited for to the end (a reconcile pass that the cron scheduler enqueues at start
  runs for minutes against a slow GitLab);
- `unsubscribe` stops the pubsub thread after sending UNSUBSCRIBE; when the thread reads the reply first, it
  waits `sleep_time` (60 s) for a subscription that never comes, and redis-py 8's `stop()` joins it;
- `stop_scheduler` joins RQ's scheduler process with no timeout (a child forked beside running threads
  can deadlock before it reads its SIGTERM).

Here a job still running `STOP_GRACE_SECONDS` after SIGTERM is interrupted and handed back to the front of
its queue (not failed: its retries stay untouched), as a killed worker's job would be, only sooner; every
delivery job is safe to run again (the bot's memory says what was applied). The pubsub thread wakes every
second and is stopped before it is unsubscribed; the scheduler process gets seconds, then SIGKILL. A
SIGTERM that arrives while the worker registers or forks its scheduler stops it at the first loop.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

from redis.exceptions import RedisError
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, WorkerStatus

log = logging.getLogger("incident_bot.worker")
STOP_GRACE_SECONDS = 5.0  # a job gets this long to finish after SIGTERM; then it goes back to its queue
SCHEDULER_STOP_SECONDS = 2.0  # RQ's scheduler process gets this long after SIGTERM, then SIGKILL
PUBSUB_WAKE_SECONDS = 1  # the pubsub thread's longest wait (RQ: 60 s), bounding how long stopping it takes
INTERRUPT_SIGNAL = signal.SIGUSR1


class StopInterrupt(BaseException):
    """Raised in the running job when the worker must stop now; the job goes back to its queue."""


class PromptStop(BaseWorker):
    """The bounded parts of a warm shutdown (see the module docstring)."""

    _interrupt_timer: threading.Timer | None = None
    _in_job = False

    # Signals from the very start: RQ installs its handlers only after registering and forking the scheduler.
    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        signal.signal(signal.SIGTERM, self._stop_at_first_loop)
        signal.signal(signal.SIGINT, self._stop_at_first_loop)
        signal.signal(INTERRUPT_SIGNAL, self._interrupt)
        super().bootstrap(*args, **kwargs)

    def _stop_at_first_loop(self, signum: int, _frame: FrameType | None) -> None:
        self.log.info("Worker %s: stop requested while starting; stopping at once", self.name)
        self._stop_requested = True

    def _start_scheduler(self, *args: Any, **kwargs: Any) -> None:
        if not self._stop_requested:  # stopping already: no scheduler process to fork only to stop it
            super()._start_scheduler(*args, **kwargs)

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.signal(INTERRUPT_SIGNAL, self._interrupt)

    def _shutdown(self) -> None:
        if self.get_state() != WorkerStatus.BUSY:
            super()._shutdown()  # raises StopRequested: the loop ends
            return
        self._stop_requested = True
        self.log.info("Worker %s: the current job gets %.0f s to finish", self.name, STOP_GRACE_SECONDS)
        main = threading.main_thread().ident
        timer = threading.Timer(STOP_GRACE_SECONDS, signal.pthread_kill, args=(main, INTERRUPT_SIGNAL))
        timer.daemon = True
        timer.start()
        self._interrupt_timer = timer
        if self.scheduler:
            self.stop_scheduler()
        try:
            self.set_shutdown_requested_date()
        except RedisError as exc:
            self.log.warning("Worker %s: could not record the stop request (%s)", self.name, exc)

    def _interrupt(self, signum: int, _frame: FrameType | None) -> None:
        if self._in_job and self._stop_requested:
            raise StopInterrupt(f"worker {self.name} stopping")

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        self._in_job = True
        try:
            return super().perform_job(job, queue, execution)
        finally:
            self._in_job = False
            if self._interrupt_timer is not None:
                self._interrupt_timer.cancel()

    # The job's own code has returned or raised: what follows records it, and is never interrupted halfway.
    def _finalize_success(self, job: Job, queue: Queue, execution: Any, return_value: Any) -> None:
        self._in_job = False
        super()._finalize_success(job, queue, execution, return_value)

    def _finalize_failure(self, job: Job, queue: Queue, execution: Any, exc_info: Any) -> None:
        self._in_job = False
        if exc_info[0] is not None and issubclass(exc_info[0], StopInterrupt | SystemExit):
            self._hand_back(job, queue, execution)
            return
        super()._finalize_failure(job, queue, execution, exc_info)

    def _hand_back(self, job: Job, queue: Queue, execution: Any) -> None:
        """The interrupted job to the front of its queue, its execution forgotten: the next worker runs it."""
        with self.connection.pipeline() as pipe:
            self.cleanup_execution(job, pipeline=pipe, execution=execution)
            queue._enqueue_job(job, pipeline=pipe, at_front=True)
            pipe.execute()
        self.log.warning("Worker %s: job %s interrupted by the stop; back on %s", self.name, job.id, queue.name)

    def subscribe(self) -> None:
        self.log.debug("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = pubsub = self.connection.pubsub()
        pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_WAKE_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def unsubscribe(self) -> None:
        thread, pubsub = getattr(self, "pubsub_thread", None), self.pubsub
        if not thread or pubsub is None:
            return
        thread.stop(timeout=0)  # the flag first: the thread ends at its next wake-up, whatever it read
        try:
            pubsub.unsubscribe()
        except RedisError as exc:
            self.log.warning("Worker %s: could not unsubscribe (%s)", self.name, exc)
        thread.join(timeout=PUBSUB_WAKE_SECONDS + 1)
        pubsub.close()
        self.pubsub_thread = None

    def stop_scheduler(self) -> None:
        process = self.scheduler._process if self.scheduler else None
        if process is None or not process.pid:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(process.pid, sig)
            except OSError:
                pass
            process.join(SCHEDULER_STOP_SECONDS)
            if not process.is_alive():
                return
            self.log.warning("Worker %s: scheduler process %s did not stop; killing it", self.name, process.pid)
