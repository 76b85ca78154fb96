"""What the alert worker tests share: run a notification through the real job, run what it queued, the new issues."""

from __future__ import annotations

from typing import Any

from rq import Queue, SimpleWorker

from service.worker import Runtime
from service.worker.alerts import process_alert
from tests.alerts.samples import dumps
from tests.fakegitlab import FakeGitLab

OPS = 1  # the fake's id of ops/production
CHECKOUT = 3  # the fake's id of shop/checkout


def alert(payload: dict[str, Any], delivery: str = "d-1") -> str:
    """One Alertmanager notification through the real alert job (GitLab is the fake behind `responses`)."""
    return process_alert(dumps(payload), {"delivery_id": delivery, "source": "alertmanager"})


def run_queue(runtime: Runtime) -> None:
    """Run what the alert job queued (the Issue Hooks for the ordinary planner), in this process."""
    queue = Queue(runtime.settings.queue_name, connection=runtime.connection)
    SimpleWorker([queue], connection=runtime.connection).work(burst=True)


def new_issues(fake: FakeGitLab) -> list[dict[str, Any]]:
    """The issues the bot opened (the fake numbers them past 500)."""
    return [issue for (pid, iid), issue in sorted(fake.issues.items()) if iid > 500]
