"""The worker layer: everything that runs inside `incident-bot worker`.

Owns the delivery job (`job`), the per-job context (`delivery`), what a worker process
shares (`runtime`), the RQ worker class (`rqworker`), its claim-based recovery
(`recovery`) and its prompt stop (`stopping`), the executor that turns a plan into GitLab calls (`executor`), the
follow-ups of an applied plan (`followups`: notification jobs, reminder schedule) and
the reminder job (`reminders`).

`service.worker.process_delivery` is a job name: RQ stores it with every queued
delivery, so it stays importable here whatever module defines it (`service.jobs.PROCESS_FUNC`).
"""

from .job import process_delivery
from .rqworker import IncidentWorker, make_worker
from .runtime import Runtime, build_runtime, current, install

__all__ = ["IncidentWorker", "Runtime", "build_runtime", "current", "install", "make_worker", "process_delivery"]
