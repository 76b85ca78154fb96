"""The delivery job: parse the body, build the Delivery, load the incident, plan, apply. RQ runs it by name."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from .. import logs
from ..changes.hooks import CHANGE_EVENTS
from ..events import Event, parse_event
from ..gitlab import PermanentGitLabError, UnexpectedAnswer
from ..handlers.planner import plan_event
from ..incident import IncidentState, new_comment, state_from_event
from ..plan import Plan, TrackFollowUp
from .changes import record_change
from .delivery import Delivery
from .enrich import Enrichment
from .executor import Applied, apply_plan, log_plan
from .limits import with_limits
from .pure import no_retry, pure_step
from .runtime import Runtime, current
from .scorecard import record_training

log = logging.getLogger("incident_bot.worker")
ACCESS_CACHE_SECONDS = 30  # only for commands that change nothing (help); the others always ask
CHANGING_COMMANDS = frozenset({"severity", "phase", "handoff", "update", "page", "drill", "follow-up", "ack", "cause"})
DRY_RUN_ACCESS = 30  # dry-run cannot ask GitLab; it shows what a Developer's command would do


def access_level(runtime: Runtime, event: Event, fresh: bool = False) -> int:
    """The author's access level in the project (commands need Developer).

    Asked of GitLab for every command that changes something, so a removed member loses
    that power at once; `help` and other answers reuse a level asked seconds ago.
    """
    if event.actor.id is None:
        return 0
    key = runtime.settings.keys.access(event.project_id, event.actor.id)
    cached = None if fresh else runtime.connection.get(key)
    if cached is not None:
        return int(cached)
    level = runtime.client().access_level(event.project_id, event.actor.id)
    runtime.connection.set(key, level, ex=ACCESS_CACHE_SECONDS)
    return level


def process_delivery(body: bytes, meta: dict[str, Any]) -> str:
    """The RQ job: parse, load state, plan, apply. Returns a one-line summary."""
    runtime = current()
    if meta.get("event") in CHANGE_EVENTS:  # a deployment or a feature flag (issue 19): only the index records it
        return record_change(runtime, body, meta)
    with pure_step(f"delivery {meta.get('delivery_id')}"):
        payload = json.loads(body)
        event = parse_event(
            payload,
            delivery_id=meta.get("delivery_id", ""),
            event_uuid=meta.get("event_uuid"),
            incident_label=runtime.rules.incident_label,
        )
        if meta.get("paging"):  # only the bot's own paging deliveries carry it (service.paging.deliveries)
            event = replace(event, paging=str(meta["paging"]))
    blog = logs.bind(log, delivery=event.delivery_id, project=event.project_id, iid=event.iid)
    try:
        return _process(runtime, event, blog, payload)
    except PermanentGitLabError:
        no_retry()
        raise
    except UnexpectedAnswer as exc:
        # GitLab answers the same again: retrying would only hold the later deliveries for minutes.
        no_retry()
        blog.error("failed, not retried (the issue's next deliveries proceed): %s", exc)
        raise


class PlanningError(Exception):
    """Planning raised (a rule template failing at render time): pure, so retrying cannot help."""


def _plan(delivery: Delivery, state: IncidentState) -> Plan:
    d = delivery
    with pure_step(f"delivery {d.event.delivery_id}: planning failed", PlanningError):
        return plan_event(d.event, state, d.rules, d.clock(), d.bot_username, d.actor_access)


def _process(runtime: Runtime, event: Event, blog: logs.Bound, payload: dict[str, Any]) -> str:
    bot, state = runtime.known_bot_username(), None
    if bot is None and event.is_incident:
        # An hour's first delivery on an incident: the bot's user is asked in the round trip that reads the
        # incident (the state is read for every delivery but the bot's own changes, which the edge drops anyway).
        state, bot = runtime.delivery(event, blog, "").load_state_and_bot(runtime.ask_bot_username)
    bot = bot or runtime.bot_username()
    if event.actor.username == bot:
        blog.info("ignored: the bot's own change")
        return "ignored: own change"
    if runtime.dry_run:
        delivery = runtime.delivery(event, blog, bot, DRY_RUN_ACCESS)
        state = state_from_event(event)
        plan = _plan(delivery, state)
        log_plan(plan, event, blog)  # type: ignore[arg-type]
        if runtime.index is not None and runtime.trial_index:  # only a local trial's own index, never a real one
            runtime.index.record(delivery, state, plan, Applied(), payload)
        return f"dry-run: {len(plan.actions)} actions"
    # A comment addressed to the bot needs its author's access level; a command that changes
    # something asks GitLab afresh.
    command = event.command(bot)
    access = access_level(runtime, event, fresh=command[0] in CHANGING_COMMANDS) if command else None
    delivery = runtime.delivery(event, blog, bot, access)
    if not event.is_incident and not event.is_note and (tracked := _track_follow_up(runtime, delivery)) is not None:
        return tracked
    state = delivery.load_state() if state is None else state
    if state.remembers(event.delivery_id, new_comment(event)):
        delivery.log.info("skipped: delivery already applied")
        return "already applied"
    # The plan's deferred parts are filled by the enrichers (worker.enrich): the timeline and a closing drill's
    # scorecard now, the links and what else the index says once the issue is written (in apply_plan).
    enrichment = Enrichment(delivery, state, runtime.index, payload)
    plan = enrichment.before_write(_plan(delivery, state))
    # Drills per person, one refusal an hour.
    plan = with_limits(plan, delivery, state, runtime.connection, runtime.settings.keys)
    for line in plan.describe():
        delivery.log.info("plan: %s", line)
    outcome = apply_plan(plan, state, delivery, followups=runtime.followups, enrichment=enrichment, index=runtime.index)
    delivery.log.info("applied: %s", ", ".join(outcome.writes) or "nothing to write")
    if runtime.index is not None:  # after GitLab is written: the index is derived and never fails the delivery
        runtime.index.record(delivery, state, plan, outcome, payload)
        record_training(plan, delivery, state, runtime.index)  # issue 12: a closed drill's participants
    return "applied: " + (", ".join(outcome.writes) or "nothing")


def _track_follow_up(runtime: Runtime, delivery: Delivery) -> str | None:
    """An Issue Hook of a follow-up's issue (issue 20): tracked from a fresh read of the issue, without the
    incident's state (it is none); None for any other issue that is no incident (the index forgets it)."""
    state = state_from_event(delivery.event)
    plan = _plan(delivery, state)
    if not plan.of(TrackFollowUp):
        return None
    apply_plan(plan, state, delivery, index=runtime.index)
    return "applied: follow-up tracked"
