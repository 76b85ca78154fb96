"""Memory for the next incident: a declaration lists the open follow-ups of earlier incidents in its area or category.

`in_area` picks them from the index's rows and `corrective_text.open_in_area` words them (both pure); the hook
`with_open_follow_ups` appends that section to a declaring plan's comment beside the similar incidents. The
job calls it with `with_similar`, once the issue is written (issue 17's enrichers replace that call: it is
one "after the issue write" enricher filling one section from the index, shown as nothing when the index
cannot answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import corrective_text as say
from ..corrective import FollowUp
from ..plan import Plan, PostNote, Remember
from .executor import label_change
from .index import index_guard

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..store.corrective import IncidentFacts
    from .delivery import Delivery
    from .index import DeliveryIndex

RULE = "open-corrective-actions"


def in_area(
    rows: Iterable[tuple[FollowUp, IncidentFacts | None]],
    *,
    incident: tuple[int, int],
    category: str | None,
    areas: frozenset[str],
    confidential: bool,
) -> list[tuple[FollowUp, str]]:
    """Open follow-ups of other incidents sharing the area or category, and why; confidential ones only for a
    confidential incident of the same project."""
    found = []
    for fu, facts in rows:
        if facts is None or fu.state != "opened" or (fu.incident_project_id, fu.incident_iid) == incident:
            continue
        if (fu.confidential or facts.confidential) and not (confidential and fu.incident_project_id == incident[0]):
            continue
        if facts.area is not None and facts.area in areas:
            found.append((fu, f"area {facts.area}"))
        elif category is not None and facts.category == category:
            found.append((fu, f"category {category}"))
    return found


def with_open_follow_ups(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> Plan:
    """A declaring plan with the "open corrective actions in this area" section, when there are any."""
    declaring = not state.memory.get("declared") and any(
        isinstance(a, Remember) and a.key == "declared" and a.value for a in plan.actions
    )
    store = index.store(delivery.rules, delivery.bot_username) if declaring and index is not None else None
    if store is None:
        return plan
    from ..store.corrective import with_incidents  # SQLAlchemy loads with the index, not with the worker

    rules, event = delivery.rules, delivery.event
    change = label_change(plan, state.labels)
    labels = (set(state.labels) | set(change.add)) - set(change.remove)
    category = rules.category_of(labels)
    areas = frozenset(a.name for a, _ in rules.areas_for(category, labels, event.project_path or "", state.issue.title))
    with index_guard(delivery.log, "incident index not read for open corrective actions"):
        rows = in_area(
            with_incidents(store.engine, open_only=True),
            incident=(event.project_id, event.iid),
            category=category,
            areas=areas,
            confidential=state.issue.confidential,
        )
        text = say.open_in_area(rows, delivery.clock().date())
        if text:
            return replace(plan, actions=(*plan.actions, PostNote(RULE, text)))
    return plan
