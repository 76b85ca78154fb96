"""The pure steps of a job: parsing a delivery or an alert, planning. What they raise, a retry raises again.

So a failing pure step stops the job's retries and fails it once, with a message naming the delivery, while
the issue's (or the group's) later deliveries go on. Every job kind guards its pure steps with `pure_step`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rq import get_current_job

from ..events import PayloadError


def no_retry() -> None:
    """Retrying cannot help (a malformed delivery, a 4xx from GitLab): fail the job now."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


@contextmanager
def pure_step(what: str, error: type[Exception] = PayloadError) -> Iterator[None]:
    """Run a pure step: whatever it raises (a TypeError from `"assignees": 5` as much as a PayloadError) fails
    the job at once as `error("<what>: <type>: <message>")`, the original chained."""
    try:
        yield
    except Exception as exc:
        no_retry()
        raise error(f"{what}: {type(exc).__name__}: {exc}") from exc
