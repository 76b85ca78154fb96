"""GitLab calls sent at once: one round trip for reads (or writes) that do not depend on each other.

The extra calls run on daemon threads, not a pool: a worker told to stop (SIGTERM, service/worker/stopping.py)
interrupts the job's thread while it waits here, and its process must exit at once rather than wait out a
stalled GitLab call (a pool's threads are joined when the interpreter exits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run every call at once (the first in this thread); their results in order, or the first call's error."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            errors[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True, name="gitlab-call") for i in range(1, len(calls))]
    for thread in threads:
        thread.start()
    if calls:
        run(0)
    for thread in threads:
        thread.join()  # interruptible: a stop signal's exception is raised here
    for error in errors:
        if error is not None:
            raise error
    return results
