"""The periodic jobs a worker schedules: the reconcile pass and the webhook check (RQ's cron scheduler).

Every worker schedules both; the jobs themselves take a Redis lock per period, so one pass and one
check run per period across all workers. RQ's `CronScheduler.start()` installs signal handlers, which
only the main thread may do, and the main thread runs the worker: so its loop runs here, in a thread.
"""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler

from ..notify.alerts import alert_responders
from ..ops.config import OpsSettings
from ..ops.jobs import WEBHOOK_CHECK_SECONDS, reconcile_job, webhook_check_job
from ..ops.overdue import CHECK_SECONDS, follow_ups_check_job
from ..queue import notify_queue_name
from ..reports.digest_job import DIGEST_TIMEOUT, digest_job

log = logging.getLogger("incident_bot.worker")
RECONCILE_TIMEOUT = 300
WEBHOOK_CHECK_TIMEOUT = 120
REDIS_RETRY_SECONDS = 2.0
# RQ's cron scheduler stores each job by its function's `module.name`: these must be the stable names
# `service.jobs` declares (RECONCILE_FUNC, WEBHOOK_CHECK_FUNC, DIGEST_FUNC, FOLLOW_UPS_CHECK_FUNC;
# tests/test_job_paths.py).
PERIODIC_FUNCS = (reconcile_job, webhook_check_job, digest_job, follow_ups_check_job)
FOLLOW_UPS_CHECK_TIMEOUT = 600


class PeriodicJobs:
    """A daemon thread that enqueues the periodic jobs when they are due, until `stop()`."""

    def __init__(
        self, connection: Redis, queue_name: str, name: str, *, reconcile_seconds: int, digest_cron: str | None = None
    ) -> None:
        self.cron = CronScheduler(connection, name=f"incident-bot-{name}")
        queue = notify_queue_name(queue_name)
        self.cron.register(reconcile_job, queue, interval=reconcile_seconds, job_timeout=RECONCILE_TIMEOUT)
        self.cron.register(
            webhook_check_job,
            queue,
            args=(alert_responders,),
            interval=WEBHOOK_CHECK_SECONDS,
            job_timeout=WEBHOOK_CHECK_TIMEOUT,
        )
        # Follow-ups' overdue pass (issue 20): hourly, one run per hour across workers (the job's own lock).
        self.cron.register(follow_ups_check_job, queue, interval=CHECK_SECONDS, job_timeout=FOLLOW_UPS_CHECK_TIMEOUT)
        if digest_cron:  # the executive digest, on the rules' cron (in this process's time zone: UTC when deployed)
            self.cron.register(digest_job, queue, cron=digest_cron, job_timeout=DIGEST_TIMEOUT)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="periodic-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        registered = False
        while not self._stop.is_set():
            wait = REDIS_RETRY_SECONDS
            try:
                if not registered:
                    self.cron.register_birth()
                    registered = True
                if self.cron.enqueue_jobs():
                    self.cron.save()
                self.cron.heartbeat()
                wait = max(self.cron.calculate_sleep_interval(), 0.5)
            except RedisError as exc:
                # A Redis restart must not end the schedule: wait it out like the worker does.
                log.warning("periodic jobs: Redis unavailable, retrying: %s", exc)
            self._stop.wait(wait)
        try:
            self.cron.register_death()
        except RedisError:
            pass


def start_periodic_jobs(
    connection: Redis, queue_name: str, name: str, *, digest_cron: str | None = None
) -> PeriodicJobs:
    """Start scheduling the reconcile pass, the webhook check and (given its cron) the digest for this worker."""
    every = int(OpsSettings.from_env().reconcile_every.total_seconds())
    jobs = PeriodicJobs(connection, queue_name, name, reconcile_seconds=max(every, 1), digest_cron=digest_cron)
    jobs.start()
    log.info("periodic jobs: reconcile every %ss, webhook check every %ss", every, WEBHOOK_CHECK_SECONDS)
    return jobs
