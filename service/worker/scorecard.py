"""A closing drill's scorecard filled in from the index, and its participants written to the training record.

Planning is pure, so the scorecard step (`handlers.scorecard`) plans a section holding
`SCORECARD_PLACEHOLDER`; `with_scorecard` (in the job, between planning and applying) reads
the index and renders the figures there. The index lags one delivery (it is written after
GitLab), so the events of this very delivery (the close itself) are added from its
Observation, as `worker.timeline` does. Once the plan is applied and the index has this
delivery, `record_training` writes who held which role. Neither ever fails the delivery.
The store's modules are imported only by plans that close a drill.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..handlers.scorecard import SCORECARD_PLACEHOLDER, SCORECARD_RULE
from ..plan import Plan, PostNote
from .index import index_guard
from .timeline import as_indexed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..incident import IncidentState
    from ..rules import RuleSet
    from ..store.model import Progress
    from ..store.store import Store
    from .delivery import Delivery
    from .index import DeliveryIndex

UNAVAILABLE = "*The incident index cannot be read right now, so there is no scorecard; ask for the `timeline`.*"
NOT_CONFIGURED = "*This worker keeps no incident index, so there is no scorecard to show.*"


def scoring(plan: Plan) -> bool:
    """The plan closes a drill (it holds the scorecard section)."""
    return any(isinstance(a, PostNote) and a.rule == SCORECARD_RULE for a in plan.actions)


def with_scorecard(
    plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None, payload: Mapping[str, Any]
) -> Plan:
    """The plan with the drill's scorecard rendered into its section."""
    if not scoring(plan):
        return plan
    text = NOT_CONFIGURED if index is None else _render(plan, delivery, state, index, payload) or UNAVAILABLE
    actions = tuple(
        replace(a, body=a.body.replace(SCORECARD_PLACEHOLDER, text, 1))
        if isinstance(a, PostNote) and a.rule == SCORECARD_RULE
        else a
        for a in plan.actions
    )
    return replace(plan, actions=actions)


def _render(
    plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex, payload: Mapping[str, Any]
) -> str | None:
    """The rendered card; None when the index cannot be read."""
    # Imported here: SQLAlchemy and the report's modules load only for a plan that closes a drill.
    from ..reports.scorecard import render_scorecard, score
    from ..reports.targets import targets_from_rules
    from ..store.checklists import progress
    from ..store.training import participants

    seen = as_indexed(plan, delivery, state, index, payload, "the scorecard")
    if seen is None:
        return None
    rules, row, obs, events, milestones = delivery.rules, seen.row, seen.obs, seen.events, seen.milestones
    read: list[Progress] = []
    with index_guard(delivery.log, "incident index not read for the scorecard") as reading:  # the card says so
        if row is not None:
            read = progress(seen.store.engine, row.id)
    if reading.failed:
        return None
    checklists = {p.phase: p for p in [*read, *(obs.checklists if obs else ())]}  # this delivery's reading wins
    name, drill = _scenario(rules, state, row.description if row else "")
    card = score(
        events,
        milestones,
        end=milestones.resolved or (obs.observed_at if obs else delivery.clock()),
        scenario=name,
        expected_severity=drill.severity if drill else None,
        expected_phases=[(p.phase, p.by_minutes) for p in drill.phases] if drill else [],
        phase_order=[p.name for p in rules.phases],
        targets=targets_from_rules(rules),
        cadences={level: s.update_every_minutes for level, s in rules.severities.items()},
        checklists=checklists.values(),
        roles=participants(events, obs.roles if obs else (row.roles if row else {})),
        role_titles={name: role.title for name, role in rules.roles.items()},
    )
    return render_scorecard(card, {level: s.name for level, s in rules.severities.items()})


def _scenario(rules: RuleSet, state: IncidentState, indexed: str) -> tuple[str | None, Any]:
    """The drill's scenario name (from its issue's marker) and the scenario as the rules define it (None: unknown)."""
    from ..rules.drills import scenario_of  # with the rest: only closing drills need it

    name = scenario_of(state.issue.description) or scenario_of(indexed)
    return name, rules.drills.get(name) if name else None


def record_training(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> bool:
    """After the plan is applied and indexed: who held which role in this drill, in the training record."""
    if index is None or not scoring(plan):
        return False
    store = index.store(delivery.rules, delivery.bot_username)
    if store is None:
        return False
    with index_guard(delivery.log, "training record not written"):  # derived from the index, as the index
        return _record(store, delivery, state) > 0
    return False


def _record(store: Store, delivery: Delivery, state: IncidentState) -> int:
    from ..store.training import TrainingRecord, held_at_close, participants, record  # only closing drills load it

    event, now = delivery.event, delivery.clock()
    row = store.incident(event.project_id, event.iid)
    if row is None:
        return 0
    events = store.timeline(event.project_id, event.iid)
    name, _ = _scenario(delivery.rules, state, row.description)
    closed, held = held_at_close(events, row.roles)  # as reindex reads it (store.training.rebuild)
    if closed is None:  # the index has no close yet (it lags): the drill closes now, with the roles held now
        closed, held = row.resolved_at or now, participants(events, row.roles)
    drill = (row.project_id, row.project_path, row.iid, name or "")
    return record(
        store.engine, [TrainingRecord(*drill, user, role, row.started_at, closed, now) for role, user in held]
    )
