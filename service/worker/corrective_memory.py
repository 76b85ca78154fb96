"""Memory for the next incident: a declaration lists the open follow-ups of earlier incidents in its area or category.

The planner puts a quiet `OpenFollowUpsPart` in a declaration's comment; this enricher fills it after the issue
write (`worker.enrich.ENRICHERS`), from the index: `in_area` picks the follow-ups from the index's rows and
`corrective_text.open_in_area` words them (both pure). Only follow-ups of incidents in projects the new incident's
readers may see are named, by the suspects' one admin-only scope (`worker.scope.incident_scope`: its own project,
those the areas covering it share, its alert route's area; a confidential incident, its own project only): an area
label or title term people set widens nothing; and each follow-up only when its own project may be named there too
(`corrective.may_name`). Nothing is shown when there are none, or when the index cannot
answer (the enrichers' one failure policy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .. import corrective_text as say
from ..corrective import FollowUp
from ..parts import OpenFollowUpsPart
from .scope import follow_up_names, incident_scope

if TYPE_CHECKING:
    from ..store.corrective import IncidentFacts
    from .enrich import Sources

FAILURE = "incident index not read for open corrective actions"


def in_area(
    rows: Iterable[tuple[FollowUp, IncidentFacts | None]],
    *,
    incident: tuple[int, int],
    category: str | None,
    areas: frozenset[str],
    confidential: bool,
    sees: Callable[[int, str], bool],
    names: Callable[[FollowUp], bool],
) -> list[tuple[FollowUp, str, str]]:
    """Open follow-ups of other incidents sharing the area or category, their incident's reference, and why: of
    incidents in projects this one's readers may see (`sees`, by project id and path), each follow-up one this
    incident may name (`names`: `corrective.may_name`, its own project too); confidential ones only for a
    confidential incident of the same project."""
    found = []
    for fu, facts in rows:
        if facts is None or fu.state != "opened" or (fu.incident_project_id, fu.incident_iid) == incident:
            continue
        if not sees(fu.incident_project_id, facts.project_path) or not names(fu):
            continue
        if (fu.confidential or facts.confidential) and not (confidential and fu.incident_project_id == incident[0]):
            continue
        ref = say.incident_ref(fu, facts.project_path, incident[0])
        if facts.area is not None and facts.area in areas:
            found.append((fu, ref, f"area {facts.area}"))
        elif category is not None and facts.category == category:
            found.append((fu, ref, f"category {category}"))
    return found


def fill(sources: Sources, parts: list[OpenFollowUpsPart]) -> dict[Any, str | None]:
    """The section's text ('' when no earlier incident in this area or category left a follow-up open)."""
    from ..store.corrective import with_incidents  # SQLAlchemy loads with the index, not with the worker

    delivery, state, store = sources.delivery, sources.state, sources.store
    assert store is not None
    rules, event = delivery.rules, delivery.event
    labels = sources.plan.settled(state).labels  # as the plan leaves them (a category it inferred)
    category = rules.category_of(labels)
    areas = frozenset(a.name for a, _ in rules.areas_for(category, labels, event.project_path or "", state.issue.title))
    confidential = state.issue.confidential
    scope = incident_scope(delivery, state.issue, delivery.clock(), confidential)  # never widened by a label
    rows = in_area(
        with_incidents(store.engine, open_only=True),
        incident=(event.project_id, event.iid),
        category=category,
        areas=areas,
        confidential=confidential,
        sees=scope.sees,
        names=follow_up_names(delivery, scope, confidential),
    )
    return dict.fromkeys(parts, say.open_in_area(rows, delivery.clock().date()))
