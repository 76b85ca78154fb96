"""Follow-ups of an applied plan: one RQ job per notification, the status-update reminder schedule, a drill's
injects and the declaration of a drill the bot opened (`service.worker.drills`)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from ..incident import IncidentState
from ..jobs import REMINDER_FUNC
from ..keys import Keys
from ..notify.jobs import enqueue_notification, record_outcomes_with
from ..notify.messages import Message, MessageKind
from ..ops.drill import declaration_payload, declare
from ..plan import Notify, OpenDrill, Plan, ScheduleInjects, ScheduleReminder
from ..queue import EventQueue
from ..rules import Channel
from ..rules.drills import is_drill
from .delivery import Delivery
from .drills import schedule_injects
from .index import index_guard

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger("incident_bot.followups")


def reminder_key(project_id: int, iid: int, keys: Keys | None = None) -> str:
    """Where the incident's current reminder series is kept (its token, roles and cadence)."""
    return (keys or Keys()).reminder(project_id, iid)


def reminder_job_id(project_id: int, iid: int, token: str, count: int) -> str:
    digest = hashlib.sha256(f"{project_id}:{iid}:{token}".encode()).hexdigest()[:24]
    return f"remind-{project_id}-{iid}-{digest}-{count}"


def schedule_reminder(
    queue: Queue, project_id: int, iid: int, token: str, minutes: float, roles: tuple[str, ...], count: int
) -> bool:
    """Schedule reminder number `count` of the series `token`; False when it was already scheduled."""
    try:
        queue.enqueue_in(
            timedelta(minutes=minutes),
            REMINDER_FUNC,
            project_id,
            iid,
            token,
            count,
            job_id=Keys.of_queue(queue.name).job_id(reminder_job_id(project_id, iid, token, count)),
            unique=True,
            description=f"status-update reminder {count} for {project_id}:{iid}",
        )
    except DuplicateJobError:
        return False
    return True


@dataclass
class FollowUps:
    """Enqueues what a plan asks of people and time, after its GitLab writes are done."""

    connection: Redis
    queue: Queue
    targets: Mapping[str, Channel]  # channels that have a target; the rest were logged once at start
    retry_intervals: tuple[int, ...] = (2, 10, 30, 120)
    store_of: Callable[[], Store | None] | None = None  # the incident index, when the worker keeps one
    deliveries: EventQueue | None = None  # where a drill the bot opened is queued for declaration
    drill_minute_seconds: float = 60.0  # how long a drill's minute lasts (INCIDENT_BOT_DRILL_MINUTE_SECONDS)
    paging: Callable[[Plan, Delivery, IncidentState], None] | None = None  # pages and their steps (worker.paging)

    def attach_index(self, store_of: Callable[[], Store | None]) -> None:
        """Record in the index what follow-ups do: each notification's outcome, the next reminder due."""
        self.store_of = store_of
        record_outcomes_with(self.record_sent)

    def record_sent(self, message: Message, channel: str, ok: bool, reason: str, attempt: int) -> None:
        """Add one notification attempt to the index (the notification job calls this; it logs any failure)."""
        from ..store.followups import Sent, record_sent  # the store loads when a follow-up is recorded

        store = self.store_of() if self.store_of else None
        if store is not None:
            sent = Sent(channel, str(message.kind), datetime.now(UTC), ok, reason, attempt)
            record_sent(store.engine, message.project, message.iid, sent)

    def record_pending(
        self, project_id: int, iid: int, minutes: float | None, roles: tuple[str, ...], count: int
    ) -> None:
        """Make the next reminder due in `minutes` the incident's pending one (None: none pending); never raises."""
        from ..store.followups import Pending, set_pending  # as above: deferred with the store

        # The reminder itself is in Redis and RQ; the index only shows it.
        with index_guard(log, "pending reminder not recorded"):
            store = self.store_of() if self.store_of else None
            if store is not None:
                due = None if minutes is None else Pending(datetime.now(UTC) + timedelta(minutes=minutes), roles, count)
                set_pending(store.engine, project_id, iid, due)

    def __call__(self, plan: Plan, delivery: Delivery, state: IncidentState) -> None:
        for action in plan.of(Notify):
            self.notify(action, delivery, state)
        for reminder in plan.of(ScheduleReminder)[-1:]:
            self.remind(reminder, delivery)
        if self.paging is not None:
            self.paging(plan, delivery, state)
        for injects in plan.of(ScheduleInjects)[:1]:
            event = delivery.event
            count = schedule_injects(self.queue, event.project_id, event.iid, injects, self.drill_minute_seconds)
            delivery.log.info("drill %s: %s of %s injects scheduled", injects.scenario, count, len(injects.injects))

    def declare_drill(self, action: OpenDrill, delivery: Delivery, iid: int, url: str) -> None:
        """Queue the declaration of the drill issue `iid` the plan opened (the bot's own events are not queued)."""
        if self.deliveries is None:
            delivery.log.warning("drill #%s opened but not queued for declaration: no deliveries queue", iid)
            return
        event = delivery.event
        issue = (action.title, action.description, action.labels)
        payload = declaration_payload(event.project_id, event.project_path, iid, url, issue, event.actor)
        delivery.log.info("drill #%s (%s): declaration %s", iid, action.scenario, declare(self.deliveries, payload))

    def notify(self, action: Notify, delivery: Delivery, state: IncidentState) -> None:
        """Queue one notification job, unless the channel has no target."""
        event = delivery.event
        channel = self.targets.get(action.channel)
        if channel is None:
            return
        rules = delivery.rules
        labels = state.labels | event.labels | event.labels_removed  # removed by this event: a drill until now
        if is_drill(labels, rules) and action.channel != rules.training_channel:
            # Planning routes a drill's notifications; this is the last guard before anyone real is told.
            delivery.log.warning("drill: %s notification to %s not sent", action.message, action.channel)
            return
        message = Message(
            kind=MessageKind(action.message),
            title=state.issue.title or event.title,
            project=event.project_path or str(event.project_id),
            iid=event.iid,
            url=state.issue.web_url or event.url,
            severity=action.severity,
            severity_name=action.severity_name,
            phase=action.phase,
            roles=action.roles,
            change=action.change,
            text=action.text or None,
            confidential=state.issue.confidential or event.confidential,
        )
        # A redelivered event or a retried job finds this key taken: nobody is told twice.
        key = f"{event.delivery_id}:{action.message}"
        enqueue_notification(self.queue, channel, message, key, retry_intervals=self.retry_intervals)

    def remind(self, reminder: ScheduleReminder, delivery: Delivery) -> None:
        """Start a new reminder series; older series see a different token when they fire and stop."""
        event = delivery.event
        token = event.delivery_id
        record = {"token": token, "roles": list(reminder.roles), "minutes": reminder.minutes}
        key = reminder_key(event.project_id, event.iid, Keys.of_queue(self.queue.name))
        self.connection.set(key, json.dumps(record))
        schedule_reminder(self.queue, event.project_id, event.iid, token, reminder.minutes, reminder.roles, 1)
        self.record_pending(event.project_id, event.iid, reminder.minutes, tuple(reminder.roles), 1)
