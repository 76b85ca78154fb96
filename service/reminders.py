"""Old home of the reminder job, kept as its stable job name.

RQ stores a job's function by dotted path, and reminders are scheduled up to a day
ahead, so jobs name `service.reminders.fire` (`service.jobs.REMINDER_FUNC`, a contract); the job itself is
`service.worker.reminders`. A thin re-export: tests/test_job_paths.py runs a job under this name.
"""

from .worker.reminders import fire

__all__ = ["fire"]
