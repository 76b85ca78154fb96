"""The page step job: when a page's step falls due, queue the delivery that lets the planner page the next level.

Scheduled by `service.worker.paging.PagingFollowUps` under its stable name (`service.jobs.PAGE_STEP_FUNC`).
"""

from __future__ import annotations

import logging

from .. import logs
from ..paging import deliveries
from .runtime import current

log = logging.getLogger("incident_bot.paging")


def page_step(project_id: int, project_path: str, iid: int, page: str, step: int) -> str:
    """The step job: queue the delivery that lets the planner page the next level (if still unacknowledged)."""
    runtime = current()
    blog = logs.bind(log, project=project_id, iid=iid, page=page, step=step)
    queue = runtime.followups.deliveries if runtime.followups is not None else None
    if queue is None:
        blog.warning("page step not queued: this worker has no deliveries queue")
        return "skipped: no deliveries queue"
    body = deliveries.payload(project_id, project_path, iid)
    ident = deliveries.step_delivery_id(project_id, iid, page, step)
    outcome = deliveries.enqueue(queue, body, ident, f"step:{page}:{step}")
    blog.info("page step queued: %s", outcome)
    return f"page step {step}: {outcome}"
