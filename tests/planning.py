"""The pure planner on a fixture payload and an incident state: the plan a delivery would get (no I/O).

Used by the tests of the shipped rules, the areas, drills' planning, the settings and the handbook.
"""

from __future__ import annotations

from typing import Any

from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue, Note
from service.plan import Plan
from service.rules import RuleSet
from tests.conftest import NOW, payload


def plan_for(
    rules: RuleSet,
    fixture: str,
    *,
    labels: list[str] | None = None,
    memory: dict[str, Any] | None = None,
    state: str | None = None,
    notes: tuple[Note, ...] = (),
    access: int | None = None,
    **attrs: Any,
) -> Plan:
    data = payload(fixture)
    target = data["object_attributes"] if "issue" not in data else data["issue"]
    if "note" in attrs:
        data["object_attributes"]["note"] = attrs.pop("note")
    target.update(attrs)
    event = parse_event(data, delivery_id="d")
    current = frozenset(labels if labels is not None else event.labels)
    issue = Issue(
        project_id=1,
        iid=23,
        title=event.title,
        description=event.description,
        state=state or event.state,
        labels=current,
        web_url="http://gitlab.test/g/p/-/issues/23",
    )
    st = IncidentState(issue=issue, memory=memory or {}, notes=notes)
    return plan_event(event, st, rules, NOW, access=access)
