"""The timeline enricher: the incident's timeline from the index, for the `timeline` reply and a review's pre-fill.

Planning is pure, so the `timeline` command's reply holds a `TimelinePart` and a review the plan
opens ends with a quiet one (`service.parts`); this enricher (first in `worker.enrich.ENRICHERS`,
before the issue write) renders the timeline and the times against targets into both. The index
lags one delivery (it is written after GitLab), so the events this very delivery will cause are
added from its Observation. Only plans with such a part pay for reading the index (the store's
modules are imported then, not with the job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..parts import TimelinePart

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..incident import IncidentState
    from ..plan import Plan
    from ..store import Store
    from ..store.model import Observation, TimelineEvent
    from ..store.query import IncidentRow
    from ..store.timeline import Milestones
    from .delivery import Delivery
    from .enrich import Sources

FAILURE = "incident index not read for the timeline"
UNAVAILABLE = "*The incident index cannot be read right now, so there is no timeline to show; try again later.*"
NONE = "*This worker keeps no incident index, so there is no timeline to show.*"
REVIEW_HEADING = "\n\n## Timeline (from the incident index)\n\n"


def fill(sources: Sources, parts: list[TimelinePart]) -> dict[Any, str | None]:
    """The rendered timeline in the reply, and under its heading at the end of a review (None: nothing to show)."""
    assert sources.store is not None
    text = _render(sources.plan, sources.delivery, sources.state, sources.store, sources.payload)
    return {p: (REVIEW_HEADING + text if p.review else text) if text else None for p in parts}


def _render(plan: Plan, delivery: Delivery, state: IncidentState, store: Store, payload: Mapping[str, Any]) -> str:
    """The rendered timeline; raises when the index cannot be read (the enricher's policy says so)."""
    from ..reports.targets import targets_from_rules
    from ..reports.timeline import render_timeline

    seen = as_indexed(plan, delivery, state, store, payload)
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
    plan: Plan, delivery: Delivery, state: IncidentState, store: Store, payload: Mapping[str, Any]
) -> Indexed:
    """The incident's row, timeline and milestones, this delivery's Observation added; raises when unreadable."""
    from ..store.observe import observe
    from ..store.timeline import derive
    from ..store.vocabulary import POST_INCIDENT

    event = delivery.event
    row = store.incident(event.project_id, event.iid)
    events = store.timeline(event.project_id, event.iid)
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
