"""The status-update reminder job: re-checks the incident when it fires and does nothing if moot."""

from __future__ import annotations

import json
import logging

from rq import Queue, get_current_job

from .. import logs, metrics
from ..durations import human_duration
from ..events import Actor, Event, Kind, is_incident
from ..incident import IncidentState
from ..queue import notify_queue_name
from ..rules import RuleSet
from .followups import reminder_key, schedule_reminder
from .runtime import Runtime, current

log = logging.getLogger("incident_bot.reminders")

REMINDER = (
    "**Status update due**: {owner}severity {level} incidents get a status update every {every}. "
    "Comment here, or broadcast one with `@{bot} update <text>`."
)
LAST = "\n\n_This is the last automatic reminder ({count} sent); the bot stops reminding until the next change._"


def fire(project_id: int, iid: int, token: str, count: int) -> str:
    """Post reminder `count` of series `token` if it still applies, and schedule the next one."""
    runtime = current()
    blog = logs.bind(log, project=project_id, iid=iid, reminder=count)
    raw = runtime.connection.get(reminder_key(project_id, iid, runtime.settings.keys))
    record = json.loads(raw) if raw else None
    if not record or record.get("token") != token:
        # The newer series recorded its own next reminder; with none at all, nothing is pending.
        if not record and runtime.followups is not None:
            runtime.followups.record_pending(project_id, iid, None, (), 0)
        metrics.reminder("superseded")
        return "superseded: a newer update or change reset the reminders"
    if runtime.dry_run:
        blog.info("dry-run: would remind about status updates")
        metrics.reminder("dry_run")
        return "dry-run"
    bot = runtime.bot_username()
    delivery = runtime.delivery(_reminder_event(project_id, iid, bot), blog, bot)
    rules = delivery.rules
    state = delivery.load_state()
    due = _update_due(rules, state)
    if due is None:
        return _stop(runtime, project_id, iid, blog)
    level, minutes = due
    staffed = state.memory.get("staffed", {})
    owner = next((staffed[r] for r in record.get("roles", []) if r in staffed), None)
    limit = rules.settings.reminder_limit
    body = REMINDER.format(owner=f"@{owner}, " if owner else "", level=level, every=human_duration(minutes), bot=bot)
    if count >= limit:
        body += LAST.format(count=count)
    delivery.gitlab.create_note(project_id, iid, body)
    blog.info("reminder posted")
    metrics.reminder("posted")
    _schedule_next(runtime, project_id, iid, token, minutes, tuple(record.get("roles", [])), count, limit)
    return f"reminded ({count})"


def _reminder_event(project_id: int, iid: int, bot: str) -> Event:
    """The event a reminder acts on: the bot itself touching the incident."""
    return Event(
        kind=Kind.ISSUE,
        action="reminder",
        project_id=project_id,
        project_path="",
        iid=iid,
        actor=Actor(None, bot),
        is_incident=True,
    )


def _update_due(rules: RuleSet, state: IncidentState) -> tuple[int, float] | None:
    """The severity and its update interval in minutes; None once resolved, no longer an incident, or needing none."""
    labels = state.issue.labels
    last_phase = rules.phases[-1].label if rules.phases else None
    level = rules.severity_of(labels)
    minutes = rules.severities[level].update_every_minutes if level is not None else None
    still_incident = is_incident(state.issue.issue_type, labels, rules.incident_label)
    resolved = state.issue.state == "closed" or bool(last_phase and last_phase in labels)
    if level is None or not minutes or resolved or not still_incident:
        return None
    return level, minutes


def _stop(runtime: Runtime, project_id: int, iid: int, blog: logs.Bound) -> str:
    """End the series: its record gone, nothing pending."""
    runtime.connection.delete(reminder_key(project_id, iid, runtime.settings.keys))
    if runtime.followups is not None:
        runtime.followups.record_pending(project_id, iid, None, (), 0)
    blog.info("reminders stopped: resolved, no longer an incident, or its severity needs no updates")
    metrics.reminder("stopped")
    return "stopped"


def _schedule_next(
    runtime: Runtime,
    project_id: int,
    iid: int,
    token: str,
    minutes: float,
    roles: tuple[str, ...],
    count: int,
    limit: int,
) -> None:
    """Schedule reminder `count + 1` unless `count` was the last, and record what is pending."""
    if count < limit:
        job = get_current_job()
        queue = job.origin if job else notify_queue_name(runtime.settings.queue_name)
        schedule_reminder(
            Queue(queue, connection=runtime.connection), project_id, iid, token, minutes, roles, count + 1
        )
    if runtime.followups is not None:  # the next one, or (after the last) none pending
        runtime.followups.record_pending(project_id, iid, minutes if count < limit else None, roles, count + 1)
