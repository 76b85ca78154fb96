"""Drills in the worker: open a drill's issue (and have it declared), schedule its injects.

The bot's own events never reach the queue, so the drill issue the bot opens would never be declared:
the follow-ups queue the Issue Hook GitLab would have sent for it (`service.ops.drill.declare`, as
`reconcile` does), under a delivery id fixed by the issue, so a retried request queues it once.
Each inject is its own RQ job on the notify queue, under its stable name (`service.jobs.INJECT_FUNC`), with an id
fixed by the issue and the inject's place: a redelivered declaration never schedules one twice.
When it fires it posts only while the issue is still an open drill of the same scenario
(`service.worker.injects`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue
from rq.exceptions import DuplicateJobError

from ..gitlab import GitLabClient
from ..jobs import INJECT_FUNC
from ..keys import Keys
from ..plan import OpenDrill, ScheduleInjects
from ..rules.drills import request_marker

log = logging.getLogger("incident_bot.drills")
INJECT_KEEP_SECONDS = 8 * 24 * 3600  # longer than a drill lasts (rules.drills.MAX_DRILL_MINUTES)


def open_drill(
    client: GitLabClient, project_id: int, iid: int, action: OpenDrill, request: str
) -> tuple[int, str, bool]:
    """The drill issue (iid, url, opened now), linked from the requesting issue; a retried request finds its own."""
    marker = request_marker(request)
    for found_iid, title, url in client.linked_issues(project_id, iid):
        if title == action.title and marker in client.get_issue(project_id, found_iid).description:
            return found_iid, url, False
    drill_iid, url = client.create_issue(project_id, action.title, action.description, action.labels)
    client.link_issues(project_id, iid, project_id, drill_iid)
    return drill_iid, url, True


def inject_job_id(project_id: int, iid: int, index: int) -> str:
    return f"drill-inject-{project_id}-{iid}-{index}"


def schedule_injects(queue: Queue, project_id: int, iid: int, action: ScheduleInjects, minute_seconds: float) -> int:
    """One RQ job per inject, due `after_minutes` drill minutes from now; how many were scheduled now."""
    scheduled = 0
    for index, (minutes, text) in enumerate(action.injects):
        keys = Keys.of_queue(queue.name)
        job_id = keys.job_id(inject_job_id(project_id, iid, index))
        # RQ frees a job id once its result expires: the key keeps a later redelivery from scheduling it again.
        done = keys.scheduled_once(job_id)
        if queue.connection.exists(done):
            continue
        try:
            queue.enqueue_in(
                timedelta(seconds=minutes * minute_seconds),
                INJECT_FUNC,
                project_id,
                iid,
                action.scenario,
                index,
                minutes,
                text,
                job_id=job_id,
                unique=True,
                description=f"drill inject {index + 1} of {action.scenario} for {project_id}:{iid}",
            )
        except DuplicateJobError:
            continue
        queue.connection.set(done, "1", ex=INJECT_KEEP_SECONDS)
        scheduled += 1
    return scheduled
