"""The `paging:` section (`rules/paging.yml`): escalation policies, when a page starts, how to reach each person.

Only the shape lives here (the JSON Schema and the frozen model); `paging_load` builds it and checks every
name it uses against the rest of the rules, each mistake with file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

TARGET_KINDS = ("role", "rotation", "channel")  # what a level notifies: `role:eoc`, `rotation:...`, `channel:...`
CONTACT_KINDS = ("channel", "email")  # how a person is reached: `channel:pager-carol`, `email:carol@example.com`
DEFAULT_POLICY = "default"  # the policy `@bot page <team>` runs when `paging.teams` names none for the team
MAX_ACK_MINUTES = 24 * 60
MAX_LEVELS = 10
MAX_REPEAT = 5
_NAME = r"[a-z0-9][a-z0-9_.-]{0,63}"
_TARGET = {"type": "string", "pattern": rf"^({'|'.join(TARGET_KINDS)}):{_NAME}$", "maxLength": 80}
# An address with no room for a header, a second address or a display name: one `@`, no space, `<>,;` or quote.
_EMAIL = r"email:[^\s<>,;:@\"'()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,190}"
_CONTACT = {"type": "string", "pattern": rf"^(channel:{_NAME}|{_EMAIL})$", "maxLength": 260}
_USERNAME = {"pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$"}
_POLICY_NAME = {"type": "string", "pattern": rf"^{_NAME}$"}
_LEVEL = {"type": "integer", "minimum": 1, "maximum": 9}

PAGING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Pages that are acknowledged or escalate (rules/paging.yml; docs/rules.md, Paging).",
    "properties": {
        "policies": {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"pattern": rf"^{_NAME}$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["levels"],
                "properties": {
                    "levels": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_LEVELS,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["notify", "ack_within_minutes"],
                            "properties": {
                                "notify": {"type": "array", "items": _TARGET, "minItems": 1, "maxItems": 20},
                                "ack_within_minutes": {
                                    "type": "number",
                                    "exclusiveMinimum": 0,
                                    "maximum": MAX_ACK_MINUTES,
                                },
                            },
                        },
                    },
                    "repeat": {"type": "integer", "minimum": 0, "maximum": MAX_REPEAT},
                },
            },
        },
        "page_on": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["severity", "policy"],
                "properties": {
                    "severity": {"anyOf": [_LEVEL, {"type": "array", "items": _LEVEL, "minItems": 1}]},
                    "roles": {"type": "array", "items": _POLICY_NAME, "minItems": 1, "maxItems": 10},
                    "policy": _POLICY_NAME,
                },
            },
        },
        "contacts": {
            "type": "object",
            "maxProperties": 5000,
            "propertyNames": _USERNAME,
            "additionalProperties": {"type": "array", "items": _CONTACT, "minItems": 1, "maxItems": 5},
        },
        "teams": {
            "type": "object",
            "description": "The policy `@bot page <team>` runs, per team (default: `default`).",
            "additionalProperties": _POLICY_NAME,
        },
    },
}


@dataclass(frozen=True)
class Level:
    """One level of a policy: who is paged (`role:`, `rotation:`, `channel:` targets) and how long they have."""

    notify: tuple[str, ...]
    ack_within_minutes: float


@dataclass(frozen=True)
class Policy:
    """An escalation policy: its levels in order, run `repeat` more times before the final broadcast."""

    name: str
    levels: tuple[Level, ...]
    repeat: int = 0

    @property
    def steps(self) -> int:
        """How many levels are paged in all (every run of the levels)."""
        return len(self.levels) * (self.repeat + 1)

    def level(self, step: int) -> Level:
        """The level paged at `step` (0-based, across runs)."""
        return self.levels[step % len(self.levels)]


@dataclass(frozen=True)
class PageOn:
    """A page starts when the incident reaches one of `severities`; `roles` (if any) are its first level."""

    severities: tuple[int, ...]
    policy: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Paging:
    """The whole `paging:` section; empty when the rules have none (then `page <team>` only tells a channel)."""

    policies: Mapping[str, Policy] = field(default_factory=lambda: MappingProxyType({}))
    page_on: tuple[PageOn, ...] = ()
    contacts: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    teams: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def enabled(self) -> bool:
        return bool(self.policies)

    def trigger(self, severity: int | None) -> PageOn | None:
        """The first `page_on` entry for this severity, or None."""
        return next((p for p in self.page_on if severity is not None and severity in p.severities), None)

    def team_policy(self, team: str) -> Policy | None:
        """The policy a page of `team` runs, or None when there is none."""
        return self.policies.get(self.teams.get(team, DEFAULT_POLICY))


def split(target: str) -> tuple[str, str]:
    """`role:eoc` as (`role`, `eoc`); `email:a@b.c` as (`email`, `a@b.c`)."""
    kind, _, name = target.partition(":")
    return kind, name
