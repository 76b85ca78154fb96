"""The scorecard enricher: a closing drill's card from the index; then its participants in the training record.

Planning is pure, so the scorecard step (`handlers.scorecard`) plans a section holding a
`ScorecardPart`; this enricher (second in `worker.enrich.ENRICHERS`, before the issue write) reads
the index and renders the figures into it. The index lags one delivery (it is written after
GitLab), so the events of this very delivery (the close itself) are added from its Observation,
as `worker.timeline` does. Once the plan is applied and the index has this delivery,
`record_training` writes who held which role. Neither ever fails the delivery.
The store's modules are imported only by plans that close a drill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..parts import ScorecardPart
from ..plan import Plan
from .index import index_guard
from .timeline import as_indexed

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..rules import RuleSet
    from ..store.store import Store
    from .delivery import Delivery
    from .enrich import Sources
    from .index import DeliveryIndex

FAILURE = "incident index not read for the scorecard"
UNAVAILABLE = "*The incident index cannot be read right now, so there is no scorecard; ask for the `timeline`.*"
NONE = "*This worker keeps no incident index, so there is no scorecard to show.*"


def scoring(plan: Plan) -> bool:
    """The plan closes a drill (it holds the scorecard's part)."""
    return bool(plan.parts(ScorecardPart))


def fill(sources: Sources, parts: list[ScorecardPart]) -> dict[Any, str | None]:
    """The rendered card in each scorecard part; raises when the index cannot be read."""
    # Imported here: SQLAlchemy and the report's modules load only for a plan that closes a drill.
    from ..reports.scorecard import render_scorecard, score
    from ..reports.targets import targets_from_rules
    from ..store.checklists import progress
    from ..store.training import participants

    delivery, state, store = sources.delivery, sources.state, sources.store
    assert store is not None
    seen = as_indexed(sources.plan, delivery, state, store, sources.payload)
    rules, row, obs, events, milestones = delivery.rules, seen.row, seen.obs, seen.events, seen.milestones
    read = progress(store.engine, row.id) if row is not None else []
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
    text = render_scorecard(card, {level: s.name for level, s in rules.severities.items()})
    return dict.fromkeys(parts, text or None)


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
