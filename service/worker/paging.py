"""Paging in the worker: queue the pages a plan sends and schedule its next step (the step job: `pagestep`).

Each page is its own job (`service.paging.send`), keyed by page, step, person and contact, so a retried
delivery sends nothing twice. Each step is a job scheduled on the notify queue under its stable name
(`service.jobs.PAGE_STEP_FUNC`) with an id fixed by page and step (and a marker kept after its result
expires), so a retried delivery never schedules it twice; it lives in Redis, so a worker killed or restarted
loses none (another worker's scheduler moves it when due). When it falls due it only queues a delivery for
the issue (`service.paging.deliveries`): the planner decides, in the issue's order, whether anyone is paged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from rq import Queue
from rq.exceptions import DuplicateJobError

from ..incident import IncidentState
from ..jobs import PAGE_STEP_FUNC
from ..keys import Keys
from ..notify.messages import Message, MessageKind
from ..paging.send import enqueue_page, page_payload
from ..plan import Plan, SchedulePageStep, SendPage
from ..rules.paging import split
from .delivery import Delivery

log = logging.getLogger("incident_bot.paging")
STEP_KEEP_SECONDS = 2 * 24 * 3600  # longer than a step is scheduled ahead (a level waits at most a day)


@dataclass
class PagingFollowUps:
    """Queues a plan's pages and schedules its next page step (called with the other follow-ups)."""

    queue: Queue  # the notify queue: pages and steps
    minute_seconds: float = 60.0  # how long a paging minute lasts (INCIDENT_BOT_PAGING_MINUTE_SECONDS)

    def __call__(self, plan: Plan, delivery: Delivery, state: IncidentState) -> None:
        for page in plan.of(SendPage):
            self.send(page, delivery, state)
        for step in plan.of(SchedulePageStep):
            self.schedule(step, delivery)

    def send(self, action: SendPage, delivery: Delivery, state: IncidentState) -> None:
        """Queue one page to one contact, with what the page says about the incident."""
        event = delivery.event
        kind, name = split(action.contact)
        channel = delivery.rules.channels.get(name) if kind == "channel" else None
        if kind == "channel" and channel is None:
            delivery.log.warning("page to %s not sent: no such channel in the rules", action.contact)
            return
        message = Message(
            kind=MessageKind.PAGED,
            title=state.issue.title or event.title,
            project=event.project_path or str(event.project_id),
            iid=event.iid,
            url=state.issue.web_url or event.url,
            severity=action.severity,
            severity_name=action.severity_name,
            change=f"@{action.person} is paged" if action.person else "This channel is paged",
            confidential=state.issue.confidential or event.confidential,
        )
        ack = {"project": event.project_id, "iid": event.iid, "page": action.page, "person": action.person}
        key = f"{event.project_id}-{event.iid}-{action.page}-{action.step}-{action.person or name}"
        enqueue_page(self.queue, page_payload(action.contact, channel, message, key, ack))

    def schedule(self, action: SchedulePageStep, delivery: Delivery) -> None:
        """Schedule the page's next step `minutes` paging minutes from now, once."""
        event = delivery.event
        keys = Keys.of_queue(self.queue.name)
        # Not the step delivery's id: RQ keeps every job at rq:job:<id>, and the job queues that delivery.
        job_id = keys.job_id(f"page-due-{event.project_id}-{event.iid}-{action.page}-{action.step}")
        done = keys.scheduled_once(job_id)  # RQ frees a job id once its result expires
        if self.queue.connection.exists(done):
            return
        try:
            self.queue.enqueue_in(
                timedelta(seconds=action.minutes * self.minute_seconds),
                PAGE_STEP_FUNC,
                event.project_id,
                event.project_path,
                event.iid,
                action.page,
                action.step,
                job_id=job_id,
                unique=True,
                description=f"page step {action.step} of {action.page} for {event.project_id}:{event.iid}",
            )
        except DuplicateJobError:
            return
        self.queue.connection.set(done, "1", ex=STEP_KEEP_SECONDS)
