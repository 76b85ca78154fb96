"""Every label the rules use, with the colour and description `setup` gives it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..rules import RuleSet
from ..rules.alertmodel import AlertRoute

# GitLab's own label palette, so the defaults look at home next to hand-made labels.
SEVERITY_COLORS = ("#dc143c", "#ed9121", "#eee600", "#6699cc")  # critical red … low blue
PHASE_COLORS = ("#cd5b45", "#ed9121", "#6699cc", "#009966")  # identification … post-incident
CATEGORY_COLOR = "#9400d3"
INCIDENT_COLOR = "#dc143c"
REVIEW_COLOR = "#8fbc8f"
DRILL_COLOR = "#5843ad"
OTHER_COLOR = "#808080"
# Conditions and actions whose argument is a label name (or a list of them).
LABEL_CONDITIONS = frozenset({"has_label", "lacks_label", "label_added", "label_removed"})
LABEL_ACTIONS = frozenset({"add_labels", "remove_labels"})
ROUTE_PROJECT = "an alert route's project (rules/alerts.yml)"


@dataclass(frozen=True)
class WantedLabel:
    """A label as setup wants it in GitLab; `source` says which part of the rules uses it."""

    name: str
    color: str
    description: str
    source: str


def _names(arg: Any) -> list[str]:
    if isinstance(arg, str):
        return [arg]
    if isinstance(arg, list | tuple | frozenset | set):
        return [str(x) for x in arg if isinstance(x, str)]
    return []


def _pairs(value: Any) -> Iterator[tuple[str, Any]]:
    """(key, argument) pairs of a compiled `when`/`then`: tuples of pairs, or mappings."""
    if isinstance(value, dict):
        yield from value.items()
        return
    for item in value or ():
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            yield item
        elif isinstance(item, dict):
            yield from item.items()


def _when_labels(when: Any) -> Iterator[str]:
    for op, arg in _pairs(when):
        if op in LABEL_CONDITIONS:
            yield from _names(arg)
        elif op == "any":
            for sub in arg or ():
                yield from _when_labels(sub)
        elif op == "not":
            yield from _when_labels(arg)


def _then_labels(then: Any) -> Iterator[str]:
    for op, arg in _pairs(then):
        if op in LABEL_ACTIONS:
            yield from _names(arg)
        elif op == "open_review" and isinstance(arg, dict):
            yield from _names(arg.get("labels"))


def wanted_labels(rules: RuleSet) -> list[WantedLabel]:
    """The incident, severity, phase, category, drill and review labels, and any label a rule names, once each."""
    found: dict[str, WantedLabel] = {}

    def want(name: str, color: str, description: str, source: str) -> None:
        if name and name not in found:
            found[name] = WantedLabel(name, color, " ".join(description.split())[:255], source)

    settings = rules.settings
    want(
        rules.incident_label,
        settings.incident_label_color or INCIDENT_COLOR,
        settings.incident_label_description,
        "settings.incident_label",
    )
    for i, sev in enumerate(sorted(rules.severities.values(), key=lambda s: s.level)):
        default = SEVERITY_COLORS[i] if i < len(SEVERITY_COLORS) else OTHER_COLOR
        text = f"Severity {sev.level} ({sev.name})" + (f": {sev.description}" if sev.description else "")
        want(sev.label, sev.color or default, text, f"severities.{sev.level}")
    for i, phase in enumerate(rules.phases):
        default = PHASE_COLORS[i] if i < len(PHASE_COLORS) else OTHER_COLOR
        text = phase.description or f"Incident phase: {phase.title or phase.name}"
        want(phase.label, phase.color or default, text, f"phases.{phase.name}")
    for cat in rules.categories.values():
        text = f"Incident category {cat.name}" + (f": {cat.description}" if cat.description else "")
        want(cat.label, cat.color or CATEGORY_COLOR, text, f"categories.{cat.name}")
    if rules.drills:  # a drill issue carries it beside the incident label
        want(rules.drill_label, DRILL_COLOR, "A drill: a practice incident (rules/drills/).", "settings.drill_label")
    for name in _names(list(settings.review_labels)):
        want(
            name, REVIEW_COLOR, "Post-incident review of an incident, opened by incident-bot.", "settings.review_labels"
        )
    for rule in rules.rules:
        for name in [*_when_labels(rule.when), *_then_labels(rule.then)]:
            want(name, OTHER_COLOR, f"Used by incident-bot rule {rule.name}.", f"rule {rule.name}")
    for route in alert_routes(
        rules
    ):  # what an alert incident (or a storm's: the default route's, a confidential route's) carries
        area = rules.areas.get(route.area or "")
        for name in [*(area.match.labels[:1] if area is not None else ()), *route.labels]:
            want(name, OTHER_COLOR, f"Set on incidents opened from alerts (alerts.yml {route.name}).", route.name)
    return list(found.values())


def alert_routes(rules: RuleSet) -> list[AlertRoute]:
    """The default route and every route of rules/alerts.yml (none when alerts are not configured)."""
    config = rules.alerts
    return [config.default, *config.routes] if config.default is not None else []


def alert_projects(rules: RuleSet) -> list[str]:
    """The projects the alert routes open incidents in, each once, the default's first."""
    return list(dict.fromkeys(route.project for route in alert_routes(rules)))


def label_names(labels: Iterable[WantedLabel]) -> list[str]:
    """Just the names, in order."""
    return [label.name for label in labels]
