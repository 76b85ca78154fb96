"""The rules as loaded: frozen dataclasses for each section and the RuleSet that holds them all."""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jinja2

from .alertmodel import AlertRules
from .paging import Paging
from .rotation import Rotation
from .settings import DigestSettings, ProcessSettings
from .source import Problem

if TYPE_CHECKING:
    from .actions import Then

# GitLab's native severity values, as the rules' `native:` spells them.
NATIVE_TO_NAME = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "unknown": "UNKNOWN"}


class RulesError(Exception):
    """The rule set is invalid; `problems` lists every mistake found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in rules")
        self.problems = problems

    def report(self) -> str:
        """Every problem, one per line, preceded by a count."""
        noun = "error" if len(self.problems) == 1 else "errors"
        return "\n".join([f"invalid rules: {len(self.problems)} {noun}", *(f"  {p}" for p in self.problems)])


@dataclass(frozen=True)
class Severity:
    level: int
    label: str
    name: str
    native: str = "UNKNOWN"
    description: str = ""
    update_every_minutes: float | None = None
    color: str = ""  # the label's colour for `setup`; empty: a default
    # Report targets (acknowledge_minutes, mitigate_minutes, resolve_minutes); absent: no target.
    targets: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Phase:
    name: str
    label: str
    title: str = ""
    guidance: str = ""
    checklist: tuple[str, ...] = ()
    color: str = ""  # the label's colour and description for `setup`; empty: defaults
    description: str = ""


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    description: str = ""
    color: str = ""  # the label's colour for `setup`; empty: a default


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    rotation: str
    duties: tuple[str, ...] = ()
    require_training_days: int | None = None  # staffing someone who has not practised it within N days: a note


class ChannelKind(StrEnum):
    """How a channel is reached; given in the declaration, never guessed from the URL."""

    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"
    EMAIL = "email"
    MATTERMOST = "mattermost"  # an incoming webhook (GitLab ships Mattermost)


@dataclass(frozen=True)
class Channel:
    """A channel as declared in the rules: a name, a kind, and the env vars holding its secrets."""

    name: str
    kind: ChannelKind
    target_env: str
    secret_env: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ChannelKind(self.kind))


@dataclass(frozen=True)
class Team:
    name: str
    rotation: str
    channel: str | None = None
    title: str = ""


@dataclass(frozen=True)
class AreaMatch:
    """How an incident is recognised as an area's: any one of these is enough."""

    categories: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # a project path or a group path (its projects and subgroups)
    terms: tuple[str, ...] = ()  # words or phrases in the title, case-insensitive


@dataclass(frozen=True)
class Area:
    """A functional area (`rules/areas/*.yml`): its own requirements, merged into the plan when it applies."""

    name: str
    title: str
    file: str
    line: int
    description: str = ""
    match: AreaMatch = AreaMatch()
    checklists: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    roles: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    severity_examples: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    handoff: tuple[str, ...] = ()
    reporting: tuple[str, ...] = ()
    # Project or group paths whose incidents may be shown to each other as similar incidents (rules.areas.sharing).
    projects: tuple[str, ...] = ()
    # Paths in a repository (`app/payments/`) whose change names this area in a suspect merge request's reason.
    code_paths: tuple[str, ...] = ()

    def applies(self, category: str | None, labels: AbstractSet[str], project_path: str, title: str) -> str | None:
        """Why this area owns the incident (`category security`, ...), or None."""
        m = self.match
        if category and category in m.categories:
            return f"category `{category}`"
        label = next((label for label in m.labels if label in labels), None)
        if label:
            return f"label `{label}`"
        path = next((p for p in m.paths if project_path == p or project_path.startswith(p + "/")), None)
        if path:
            return f"project `{project_path}`"
        words = f" {_words(title)} "
        term = next((t for t in m.terms if f" {_words(t)} " in words), None)
        return f"title term “{term}”" if term else None


def _words(text: str) -> str:
    """Lower-case words and digits only: `Leaked credential:` reads as `leaked credential`."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class Inject:
    """A timed comment a drill posts: `after_minutes` from the drill's start."""

    after_minutes: float
    text: str


@dataclass(frozen=True)
class ExpectedPhase:
    """A phase a drill's participants are expected to reach within `by_minutes` of the start."""

    phase: str
    by_minutes: float


@dataclass(frozen=True)
class Drill:
    """A drill scenario (`rules/drills/<name>.yml`); the issue is titled `[DRILL] <title>`."""

    name: str
    title: str
    description: str
    area: str | None
    category: str | None
    severity: int  # the expected severity: participants set it, the scorecard times it
    injects: tuple[Inject, ...] = ()
    phases: tuple[ExpectedPhase, ...] = ()
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Rule:
    """One rule: conditions (`when`) and actions (`then`), with where it was written."""

    name: str
    file: str
    line: int
    when: tuple[tuple[str, Any], ...]
    then: tuple[tuple[str, Any], ...]  # as written, (action, argument): what `setup` reads for label names
    description: str = ""
    actions: tuple[Then, ...] = ()  # `then` compiled at load: what the engine applies


@dataclass(frozen=True)
class RuleSet:
    """The whole process, validated and frozen."""

    rules: tuple[Rule, ...] = ()
    severities: Mapping[int, Severity] = field(default_factory=lambda: MappingProxyType({}))
    phases: tuple[Phase, ...] = ()
    categories: Mapping[str, Category] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    rotations: Mapping[str, Rotation] = field(default_factory=lambda: MappingProxyType({}))
    templates: Mapping[str, jinja2.Template] = field(default_factory=lambda: MappingProxyType({}))
    channels: Mapping[str, Channel] = field(default_factory=lambda: MappingProxyType({}))
    teams: Mapping[str, Team] = field(default_factory=lambda: MappingProxyType({}))
    settings: ProcessSettings = field(default_factory=ProcessSettings)  # built once at load, defaults in one place
    files: tuple[str, ...] = ()
    areas: Mapping[str, Area] = field(default_factory=lambda: MappingProxyType({}))  # rules/areas/*.yml
    drills: Mapping[str, Drill] = field(default_factory=lambda: MappingProxyType({}))  # rules/drills/*.yml
    alerts: AlertRules = field(default_factory=AlertRules)  # rules/alerts.yml (issue 18)
    paging: Paging = field(default_factory=Paging)  # rules/paging.yml (rules.paging)

    @property
    def incident_label(self) -> str:
        return self.settings.incident_label

    @property
    def drill_label(self) -> str:
        """The label that makes an incident a drill (with the incident label)."""
        return self.settings.drill_label

    @property
    def training_channel(self) -> str:
        """The only channel a drill's notifications go to (dropped when it is not declared)."""
        return self.settings.training_channel

    @property
    def digest(self) -> DigestSettings:
        """The `digest:` settings, defaults filled in (the loader has checked the cron and the channels)."""
        return self.settings.digest

    def areas_for(
        self, category: str | None, labels: AbstractSet[str], project_path: str, title: str
    ) -> list[tuple[Area, str]]:
        """The functional areas an incident belongs to, each with why, in the order the rules list them."""
        found = ((area, area.applies(category, labels, project_path, title)) for area in self.areas.values())
        return [(area, why) for area, why in found if why]

    def phase(self, name: str | None) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    @property
    def severity_labels(self) -> frozenset[str]:
        """The labels of the severity scope (one of them at a time)."""
        return frozenset(s.label for s in self.severities.values())

    # The one place an incident's severity, phase and category are read from its labels.
    def severity_of(self, labels: AbstractSet[str]) -> int | None:
        """The most severe level whose label is present, or None."""
        present = [s.level for s in self.severities.values() if s.label in labels]
        return min(present) if present else None

    def phase_of(self, labels: AbstractSet[str]) -> str | None:
        """The latest phase whose label is present, or None."""
        present = [p.name for p in self.phases if p.label in labels]
        return present[-1] if present else None

    def category_of(self, labels: AbstractSet[str]) -> str | None:
        """The first category whose label is present, or None."""
        return next((c.name for c in self.categories.values() if c.label in labels), None)

    def severity_by_native(self, native: str | None) -> Severity | None:
        """The severity GitLab's own severity field (`critical`, `HIGH`, ...) stands for."""
        name = NATIVE_TO_NAME.get((native or "unknown").lower())
        return next((s for s in self.severities.values() if s.native == name), None)

    def summary(self) -> str:
        """The one-line summary `check-rules` prints."""
        return (
            f"rules OK: {len(self.rules)} rules, {len(self.severities)} severities, {len(self.phases)} phases, "
            f"{len(self.roles)} roles, {len(self.rotations)} rotations, {len(self.channels)} channels, "
            f"{len(self.areas)} areas, {len(self.drills)} drills "
            f"from {len(self.files)} files"
        )
