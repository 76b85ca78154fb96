"""Load-time checks: every template rendered against sample incidents.

A template that names something the context lacks (`incident.titel`) compiles fine and fails
only when a delivery renders it; then the delivery fails and its issue waits. Rendering every
template at load, through the same `render.render` the planner uses, turns that into a
`file:line` error before the rules are accepted. A sample is a `SampleIncident`: the facts a Draft
offers (`facts.TemplateFacts`) of an incident nothing has changed yet, so the rules layer
never imports the planning layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..events import Actor, Event, Kind
from ..incident import Issue
from .facts import LevelsFromLabels
from .render import render

if TYPE_CHECKING:
    from .model import RuleSet

SAMPLE_NOW = datetime(2026, 1, 7, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class SampleIncident(LevelsFromLabels):
    """A sample incident as a template sees it (`facts.TemplateFacts`), as a fresh Draft of it would show it."""

    event: Event
    issue: Issue
    memory: Mapping[str, Any]
    rules: RuleSet
    now: datetime

    @property
    def labels(self) -> frozenset[str]:
        return self.issue.labels

    def before(self, key: str) -> Any:
        return self.memory.get(key)

    def issue_state(self) -> str:
        return "closed" if self.issue.state == "closed" else "opened"


def sample_drafts(rules: RuleSet) -> Iterator[SampleIncident]:
    """Declared incidents at the most and least severe level, and one with nothing set yet."""
    levels = sorted(rules.severities)
    first_phase = rules.phases[0] if rules.phases else None
    category = next(iter(rules.categories.values()), None)
    staffed = {name: (rules.rotations[r.rotation].members or ("sample-user",))[0] for name, r in rules.roles.items()}
    for level in [*dict.fromkeys([*levels[:1], *levels[-1:]]), None]:
        labels = {rules.incident_label}
        if level is not None:
            labels.add(rules.severities[level].label)
            if first_phase:
                labels.add(first_phase.label)
            if category:
                labels.add(category.label)
        issue = Issue(
            project_id=1,
            iid=1,
            title="Sample incident: checkout errors",
            description="Customers see errors at checkout.",
            labels=frozenset(labels),
            web_url="https://gitlab.example/group/project/-/issues/1",
        )
        event = Event(
            kind=Kind.ISSUE,
            action="update",
            project_id=1,
            project_path="group/project",
            iid=1,
            actor=Actor(1, "sample-user"),
            is_incident=True,
            title=issue.title,
            description=issue.description,
            url=issue.web_url,
            labels=issue.labels,
        )
        memory: dict[str, Any] = {}
        if level is not None:
            memory = {
                "declared": True,
                "severity": levels[-1] if level != levels[-1] else levels[0],
                "phase": first_phase.name if first_phase else None,
                "category": category.name if category else None,
                "staffed": staffed,
                "timeline": [{"at": "2026-01-07 10:00 UTC", "what": "Incident declared"}],
            }
        yield SampleIncident(event, issue, memory, rules, SAMPLE_NOW)


def render_problem(template: Any, drafts: list[SampleIncident]) -> str | None:
    """Why `template` cannot be rendered for one of the sample incidents, or None."""
    for draft in drafts:
        try:
            render(template, draft)
        except Exception as exc:  # noqa: BLE001  (a template is user code: whatever it raises is a load error)
            line = _template_line(exc.__traceback__)
            where = f" (template line {line})" if line else ""
            return f"fails to render for a sample incident{where}: {type(exc).__name__}: {_first_line(exc)}"
    return None


def _template_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":  # Jinja rewrites these frames to template lines
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
