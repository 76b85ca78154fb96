"""Old home of the reminder job, kept as its stable job name.

RQ stores a job's function by dotted path, and reminders are scheduled up to a day
ahead, so jobs name `service.reminders.fire`; the job itself is `service.worker.reminders`.
"""

from .worker.reminders import fire

__all__ = ["fire"]
