"""The RQ worker class: claims-based dequeue (see `recovery`), heartbeats from a thread, Redis restarts waited out."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, WatchError
from rq import Queue, SimpleWorker, worker_registration
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.group import Group
from rq.job import Job
from rq.registry import clean_registries
from rq.utils import now
from rq.worker import WorkerStatus

from .. import metrics
from ..config import Settings
from ..queue import notify_queue_name
from . import recovery
from .index import index_guard
from .runtime import installed
from .stopping import PromptStop

log = logging.getLogger("incident_bot.worker")
MAINTENANCE_LOCK_SECONDS = 30


class IncidentWorker(PromptStop, SimpleWorker):
    """An RQ worker that never loses a job it took, rides out Redis restarts, and heartbeats from a thread.

    RQ's forking worker pays ~15 ms a job for the fork and opens new connections
    to GitLab in every work horse (a TLS handshake per event against a real GitLab);
    its SimpleWorker keeps them, but sends no heartbeat while a job runs, so its
    heartbeats must outlast the job timeout and a killed worker's event waits for
    minutes. Here a thread keeps heartbeating during the job, so the heartbeat TTL
    stays short (monitoring interval + slack) and a killed worker's event is retried
    within seconds. Job timeouts are still enforced (SIGALRM in the main thread).

    Dequeueing goes through `recovery.Claims` (see there why RQ's own is not enough), and
    every Redis call outside a job is guarded: a Redis restart is waited out, never a reason to quit.
    It stops within seconds of SIGTERM, a job in progress handed back to its queue (`stopping`).
    """

    heartbeat_slack = 10
    # Redis restarts: try again every second or two, not after RQ's growing pause of up to a minute.
    max_connection_wait_time = 2.0
    block_seconds = 1  # how long a dequeue blocks on the deliveries queue before looking at the others

    @property
    def claims(self) -> recovery.Claims:
        """This worker's claims list (created on first use, after the worker has its name)."""
        found: recovery.Claims | None = getattr(self, "_claims", None)
        if found is None:
            found = self._claims = recovery.Claims(self.connection, self.name)
        return found

    # Dequeue: always into the claims list, so a stop or a kill between pop and start loses nothing.
    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        self.set_state_quietly(WorkerStatus.IDLE)
        self.procline("Listening on " + ",".join(self.queue_names()))
        wait = 1.0
        idle_since = time.monotonic()
        by_key = {queue.key: queue for queue in self._ordered_queues}
        while True:
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                block = 0 if timeout is None else self.block_seconds
                job_id = self.claims.take([q.key for q in self._ordered_queues], block)
                wait = 1.0
                if job_id is not None:
                    found = self._fetch_claimed(job_id, by_key)
                    if found is not None:
                        return found
                    continue
                if timeout is None:
                    return None
                if max_idle_time is not None and time.monotonic() - idle_since > max_idle_time:
                    return None
            except RedisError as exc:
                self.log.warning("Worker %s: Redis unavailable (%s); trying again in %.0f s", self.name, exc, wait)
                time.sleep(wait)
                wait = min(wait * 2, self.max_connection_wait_time)

    def _fetch_claimed(self, job_id: str, by_key: dict[str, Queue]) -> tuple[Job, Queue] | None:
        try:
            job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
        except NoSuchJobError:
            self.claims.drop(job_id)
            return None
        queue = by_key.get(Queue(job.origin, connection=self.connection).key) or Queue(
            job.origin, connection=self.connection
        )
        job.redis_server_version = self.get_redis_server_version()
        self.log.debug("Worker %s: %s: %s", self.name, queue.name, job.id)
        return job, queue

    def _start(self, job: Job) -> Execution | None:
        """Turn the claim into a started execution, atomically; None if the claim was returned meanwhile."""
        key = self.claims.key
        with self.connection.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if pipe.lpos(key, job.id) is None:
                        return None
                    pipe.multi()
                    ttl = self.get_heartbeat_ttl(job)
                    execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
                    self.set_state(WorkerStatus.BUSY, pipeline=pipe)
                    self.heartbeat(ttl, pipeline=pipe)
                    job.heartbeat(now(), ttl, pipeline=pipe)
                    job.prepare_for_execution(self.name, pipeline=pipe)
                    pipe.persist(job.key)
                    pipe.lrem(key, 1, job.id)
                    pipe.execute()
                    self.executions[execution.id] = execution
                    return execution
                except WatchError:
                    continue

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Done by _start, in the same transaction that removed the claim.
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")

    def execute_job(self, job: Job, queue: Queue) -> None:
        runtime = installed()
        if runtime is not None:
            runtime.refresh_rules()
        try:
            execution = self._start(job)
        except RedisError as exc:
            # The claim stays in this worker's list; the next dequeue puts it back on the queue.
            self.log.warning("Worker %s: Redis unavailable starting job %s (%s); it goes back", self.name, job.id, exc)
            self.set_state_quietly(WorkerStatus.IDLE)
            return
        if execution is None:
            self.log.warning("Worker %s: job %s was handed back meanwhile; not running it here", self.name, job.id)
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, stop), name="heartbeat", daemon=True)
        beat.start()
        try:
            with metrics.job_timer(metrics.job_label(job)):
                self.perform_job(job, queue, execution)
        except RedisError as exc:
            # Finishing the job needs Redis. Its execution stays in the started registry, no longer
            # heartbeating: maintenance retries it, and the retry finds it applied (the bot's memory).
            self.log.warning(
                "Worker %s: Redis unavailable finishing job %s (%s); it will be retried", self.name, job.id, exc
            )
            self.executions.pop(execution.id, None)
        finally:
            stop.set()
            beat.join()
        self.set_state_quietly(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Execution, stop: threading.Event) -> None:
        while not stop.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except RedisError as exc:
                log.warning("heartbeat for job %s failed: %s", job.id, exc)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return max(int(self.job_monitoring_interval), 1) + self.heartbeat_slack

    # Redis restarts: nothing outside a job may end the worker.
    def set_state_quietly(self, state: str) -> None:
        """Set the worker's state; a Redis outage only delays it to the next heartbeat."""
        try:
            self.set_state(state)
        except RedisError:
            self._state = state

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        # Every heartbeat says "this worker may hold claims", so a sweep never misses a claims list.
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            self._alive(pipeline)
            return
        try:
            with self.connection.pipeline() as pipe:
                super().heartbeat(timeout, pipeline=pipe)
                self._alive(pipe)
                pipe.execute()
        except RedisError as exc:
            self.log.warning("Worker %s: heartbeat failed: %s", self.name, exc)

    def _alive(self, pipe: Any) -> None:
        # RQ's worker key outlives a killed worker by a minute and more; this one by the job heartbeat's TTL.
        pipe.sadd(recovery.CLAIMERS_KEY, self.name)
        ttl = max(int(self.job_monitoring_interval), 1) + self.heartbeat_slack
        pipe.set(recovery.alive_key(self.name), "1", ex=ttl)

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except RedisError as exc:
            self.log.warning("Worker %s: Redis unavailable (%s)", self.name, exc)
            time.sleep(1)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()
        except RedisError as exc:
            self.log.warning("Worker %s: maintenance skipped, Redis unavailable (%s)", self.name, exc)
            self.last_cleaned_at = now()  # type: ignore[assignment]
        runtime = installed()
        if runtime is not None and runtime.index is not None:  # index writes that failed: reindexed from GitLab
            with index_guard(self.log, f"Worker {self.name}: index catch-up skipped"):  # pending for the next pass
                runtime.index.catch_up(runtime.rules, runtime.bot_username())

    def clean_registries(self) -> None:
        """RQ's registry cleaning (at DEBUG), and this worker's sweep of claims left by stopped workers."""
        for queue in self.queues:
            # RQ's lock lasts 15 minutes: a worker killed while cleaning would stop every recovery for that
            # long. Cleaning takes milliseconds; a killed cleaner's lock lapses in MAINTENANCE_LOCK_SECONDS.
            if self.connection.set(queue.registry_cleaning_key, 1, nx=True, ex=MAINTENANCE_LOCK_SECONDS):
                self.log.debug("Worker %s: cleaning registries for queue: %s", self.name, queue.name)
                try:
                    clean_registries(queue, self._exc_handlers)
                    worker_registration.clean_worker_registry(queue)
                finally:
                    queue.release_maintenance_lock()
        # Not RQ's intermediate-queue cleanup: it fails a stuck job; a sweep puts it back on its queue.
        self.claims.sweep()
        self.last_cleaned_at = now()  # type: ignore[assignment]

    def clean_group_registries(self) -> None:
        lock_timeout = max(int(self.maintenance_interval) - 1, 1)
        if Group.acquire_maintenance_lock(self.connection, lock_timeout):
            self.log.debug("Worker %s: cleaning group registries", self.name)
            Group.clean_registries(connection=self.connection)

    def teardown(self) -> None:
        # A warm stop may come between taking a job and starting it: hand the claim straight back.
        try:
            returned = self.claims.give_back()
            if returned:
                self.log.info("Worker %s: put %s taken job(s) back on the queue before stopping", self.name, returned)
        except RedisError as exc:
            self.log.warning("Worker %s: could not hand back claims (%s); a sweep will", self.name, exc)
        try:
            self.connection.delete(recovery.alive_key(self.name))
            super().teardown()
        except RedisError as exc:
            self.log.warning("Worker %s: could not register its stop (%s)", self.name, exc)


def make_worker(settings: Settings, connection: Redis, queues: list[str] | None = None) -> IncidentWorker:
    """An IncidentWorker tuned from settings, listening on the deliveries and notifications queues."""
    names = queues or [settings.queue_name, notify_queue_name(settings.queue_name)]
    worker = IncidentWorker(
        [Queue(name, connection=connection) for name in names],
        connection=connection,
        job_monitoring_interval=settings.job_monitoring_interval,
        maintenance_interval=settings.maintenance_interval,
        # An idle worker blocks in dequeue for worker_ttl - 15 s and only then runs maintenance;
        # RQ's default (405 s) would leave a killed worker's event unnoticed for minutes.
        worker_ttl=settings.maintenance_interval + 15,
    )
    worker.heartbeat_slack = settings.heartbeat_slack
    return worker
