"""The incident's timeline put into a plan before it is applied: the `timeline` command's reply, the review's pre-fill.

Planning is pure, so the `timeline` command plans a reply holding `TIMELINE_PLACEHOLDER`
and this step (in the job, between planning and applying) reads the index and renders
it there; a review issue the plan opens gets the same timeline and the times against
targets appended to its description. The index lags one delivery (it is written after
GitLab), so the events this very delivery will cause are added from its Observation.
Only plans with a timeline reply or a review pay for reading the index (the store's modules are
imported then, not with the job).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..handlers.commands import TIMELINE_PLACEHOLDER, TIMELINE_RULE
from ..plan import OpenReview, Plan, PostNote
from .index import index_guard

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..incident import IncidentState
    from ..store import Store
    from ..store.model import Observation, TimelineEvent
    from ..store.query import IncidentRow
    from ..store.timeline import Milestones
    from .delivery import Delivery
    from .index import DeliveryIndex

UNAVAILABLE = "*The incident index cannot be read right now, so there is no timeline to show; try again later.*"
NOT_CONFIGURED = "*This worker keeps no incident index, so there is no timeline to show.*"
REVIEW_HEADING = "\n\n## Timeline (from the incident index)\n\n"


def with_timeline(
    plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None, payload: Mapping[str, Any]
) -> Plan:
    """The plan with the rendered timeline in the `timeline` reply and appended to a review it opens."""
    replying = any(isinstance(a, PostNote) and a.rule == TIMELINE_RULE for a in plan.actions)
    if not replying and not plan.of(OpenReview):
        return plan
    text = _render(plan, delivery, state, index, payload)
    rendered = text if text != NOT_CONFIGURED else None  # a review gets a timeline, never an excuse
    actions = []
    for action in plan.actions:
        if isinstance(action, PostNote) and action.rule == TIMELINE_RULE:
            action = replace(action, body=action.body.replace(TIMELINE_PLACEHOLDER, text or UNAVAILABLE, 1))
        elif isinstance(action, OpenReview) and rendered:
            action = replace(action, description=action.description + REVIEW_HEADING + rendered)
        actions.append(action)
    return replace(plan, actions=tuple(actions))


def _render(
    plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None, payload: Mapping[str, Any]
) -> str | None:
    """The rendered timeline, NOT_CONFIGURED without an index, None when the index cannot be read."""
    if index is None:
        return NOT_CONFIGURED
    from ..reports.targets import targets_from_rules
    from ..reports.timeline import render_timeline

    seen = as_indexed(plan, delivery, state, index, payload, "the timeline")
    if seen is None:
        return None
    rules = delivery.rules
    names = {level: s.name for level, s in rules.severities.items()}
    return render_timeline(
        seen.events, seen.milestones, targets=targets_from_rules(rules), severity_names=names, now=delivery.clock()
    )


@dataclass(frozen=True)
class Indexed:
    """The incident as the index holds it, with what this delivery will add (the index lags one delivery)."""

    store: Store
    row: IncidentRow | None
    events: list[TimelineEvent]
    obs: Observation | None
    milestones: Milestones


def as_indexed(
    plan: Plan,
    delivery: Delivery,
    state: IncidentState,
    index: DeliveryIndex,
    payload: Mapping[str, Any],
    purpose: str,
) -> Indexed | None:
    """The incident's row, timeline and milestones, this delivery's Observation added; None when unreadable."""
    from ..store.observe import observe
    from ..store.timeline import derive
    from ..store.vocabulary import POST_INCIDENT

    rules, event = delivery.rules, delivery.event
    store = index.store(rules, delivery.bot_username)
    if store is None:
        return None
    with index_guard(delivery.log, f"incident index not read for {purpose}") as read:  # the caller says so
        row = store.incident(event.project_id, event.iid)
        events = store.timeline(event.project_id, event.iid)
    if read.failed:
        return None
    obs = observe(event, state, plan, store.vocab, now=delivery.clock(), payload=payload)
    known = {e.key() for e in events}
    events += [e for e in (obs.events if obs else ()) if e.key() not in known]
    milestones = derive(
        events,
        store.vocab,
        created_at=(row.created_at if row else None) or (obs.created_at if obs else None),
        issue_type=(obs.issue_type if obs else None) or (row.issue_type if row else "issue"),
        author_id=(row.author_id if row else None) or (obs.author_id if obs else None),
        author=(row.author if row else None) or (obs.author if obs else None),
        severity_now=obs.severity if obs else (row.severity if row else None),
        open_now=bool(obs and obs.state == "opened" and obs.phase != POST_INCIDENT),
    )
    return Indexed(store, row, events, obs, milestones)
