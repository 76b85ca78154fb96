"""Which project an alert group's incident opens in, with which labels and severity (rules/alerts.yml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..rules import RuleSet
from ..rules.alertmodel import AlertRoute, OnResolved
from .payload import AlertGroup


@dataclass(frozen=True)
class Routed:
    """Where and how the group's incident is opened."""

    route: str  # the route's name (`default`, `routes[2]`): shown by `simulate` and in logs
    project: str
    severity: int
    labels: tuple[str, ...]
    confidential: bool
    on_resolved: OnResolved
    area: str = ""  # the route's `area:` (admin-configured): its `projects:` join the incident's suspect scope


def route_labels(group: AlertGroup) -> Mapping[str, str]:
    """The labels a route matches: the group's common labels, else its first alert's."""
    return group.common_labels or group.alerts[0].labels


def severity(alerts: Iterable[Mapping[str, Any]], rules: RuleSet) -> int:
    """The most severe level among the firing alerts (the lowest number); the default when none fires."""
    config = rules.alerts
    levels = [config.severity_of(a.get("labels") or {}) for a in alerts if a.get("status") == "firing"]
    return min(levels, default=config.severity_default)


def labels_for(route: AlertRoute, level: int, rules: RuleSet) -> tuple[str, ...]:
    """The incident label, the severity's, the route's category and area labels, then its own labels."""
    labels = [rules.incident_label]
    if level in rules.severities:
        labels.append(rules.severities[level].label)
    if route.category and route.category in rules.categories:
        labels.append(rules.categories[route.category].label)
    area = rules.areas.get(route.area or "")
    if area is not None and area.match.labels:
        labels.append(area.match.labels[0])
    labels += route.labels
    return tuple(dict.fromkeys(labels))


def route(group: AlertGroup, alerts: Iterable[Mapping[str, Any]], rules: RuleSet) -> Routed:
    """The route the group takes (first match, else the default) and what its incident carries."""
    config = rules.alerts
    chosen = config.route_for(route_labels(group))
    if chosen is None:
        raise ValueError("no rules/alerts.yml: alerts have nowhere to go")
    level = severity(alerts, rules)
    return Routed(
        route=chosen.name,
        project=chosen.project,
        severity=level,
        labels=labels_for(chosen, level, rules),
        confidential=chosen.confidential,
        on_resolved=config.resolved_behaviour(chosen),
        area=chosen.area if chosen.area and chosen.area in rules.areas else "",
    )
