"""The typed `rules/alerts.yml`: where alerts become incidents (routes), their severity, grouping and storm limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class OnResolved(StrEnum):
    """What the bot does to an alert incident once every alert of its group has resolved."""

    COMMENT = "comment"  # the incident stays open: people finish the work
    MITIGATE = "mitigate"  # the incident moves to the phase the index counts as mitigated (remediation)
    CLOSE = "close"


@dataclass(frozen=True)
class AlertRoute:
    """Where a matching alert group's incident is opened, and what it carries there."""

    name: str  # `default` or `routes[N]`, as the handbook and `simulate` show it
    project: str  # a project path (`ops/production`) or its numeric id
    match: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    match_re: tuple[tuple[str, re.Pattern[str]], ...] = ()
    category: str | None = None
    area: str | None = None
    labels: tuple[str, ...] = ()
    confidential: bool = False
    on_resolved: OnResolved | None = None  # None: the file's `on_resolved`
    line: int = 0

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Every `match` label equal, every `match_re` label fully matched (Alertmanager's anchoring)."""
        if any(labels.get(name) != value for name, value in self.match.items()):
            return False
        return all(pattern.fullmatch(labels.get(name, "")) for name, pattern in self.match_re)


@dataclass(frozen=True)
class AlertRules:
    """`rules/alerts.yml`; `default` is None when the file is absent (the alert endpoints then refuse alerts)."""

    default: AlertRoute | None = None
    routes: tuple[AlertRoute, ...] = ()
    severity_label: str = "severity"
    severity_map: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    severity_default: int = 3
    reopen_within_minutes: float = 60.0
    on_resolved: OnResolved = OnResolved.COMMENT
    max_new_incidents_per_minute: int = 10
    file: str = ""

    @property
    def configured(self) -> bool:
        return self.default is not None

    def route_for(self, labels: Mapping[str, str]) -> AlertRoute | None:
        """The first route whose matchers hold (the file's order), else the default."""
        return next((route for route in self.routes if route.matches(labels)), self.default)

    def severity_of(self, labels: Mapping[str, str]) -> int:
        """The level the severity label's value maps to (case-insensitive), else the default."""
        value = labels.get(self.severity_label, "").strip().lower()
        return self.severity_map.get(value, self.severity_default)

    def resolved_behaviour(self, route: AlertRoute) -> OnResolved:
        return route.on_resolved or self.on_resolved
