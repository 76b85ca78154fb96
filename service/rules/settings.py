"""The rules' `settings:` section as one typed, frozen object, each default declared here once.

Built once when the rules load (`ProcessSettings.from_mapping`); every reader uses its fields
instead of reading the raw mapping with a default of its own. docs/rules.md states the same
defaults (tests/rules/test_rules_settings.py compares them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DRILL_LIMIT = (5, 60.0)  # settings.drill_limit's default: 5 drills per person and project an hour
INCIDENT_LABEL_DESCRIPTION = "An incident: incident-bot runs the incident-response process on this issue."

# A name the rules give (a channel, a role, a phase): the schema's one pattern for it.
NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$"}

# The schema of `settings.digest` (DigestSettings below).
DIGEST_SETTING: dict[str, Any] = {
    "type": "object",
    "description": "The weekly executive digest (see the README's incident index section).",
    "additionalProperties": False,
    "properties": {
        "cron": {"type": "string", "description": "When it runs (UTC), default `0 8 * * 1`."},
        "channels": {"type": "array", "items": NAME_SCHEMA, "description": "Default [executives]."},
        "project": {"type": "string", "minLength": 1, "description": "Reporting project (path)."},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class DigestSettings:
    """The weekly executive digest: when (cron, UTC), which channels, which reporting project (None: no issue)."""

    cron: str = "0 8 * * 1"
    channels: tuple[str, ...] = ("executives",)
    project: str | None = None
    labels: tuple[str, ...] = ("incident-digest",)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> DigestSettings:
        default = cls()
        return cls(
            cron=str(raw.get("cron", default.cron)),
            channels=tuple(raw.get("channels", default.channels)),
            project=raw.get("project"),
            labels=tuple(raw.get("labels", default.labels)),
        )


# The changes named as an incident's suspects (issue 19); the schema of SuspectSettings below.
SUSPECTS_SETTING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "window_hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 24 * 31, "description": "Default 24."},
        "environments": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "Environments whose deployments are suspects whatever their tier (besides production).",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 20, "description": "Suspects listed at most; default 5."},
        "comment_on_cause": {
            "type": "boolean",
            "description": "Comment once on a merge request named as a cause, linking the incident; default true.",
        },
    },
}

# Follow-ups (corrective actions): days from opening to the due date, by the incident's highest severity.
FOLLOW_UP_DUE_DAYS: Mapping[int, int | None] = {1: 14, 2: 30, 3: 60, 4: None}
_DAYS = {"type": "integer", "minimum": 1, "maximum": 3650}
FOLLOW_UPS_SETTING: dict[str, Any] = {
    "type": "object",
    "description": "Follow-ups (corrective actions) tracked from the review to closure (docs/rules.md).",
    "additionalProperties": False,
    "properties": {
        "label": {"type": "string", "minLength": 1, "maxLength": 255, "description": "Default `corrective-action`."},
        "project": {"type": "string", "pattern": "^[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}$"},
        "due_days": {
            "type": "object",
            "description": "Severity level -> days to the due date (null: no due date).",
            "propertyNames": {"pattern": "^[1-9]$"},
            "additionalProperties": {"oneOf": [_DAYS, {"type": "null"}]},
        },
        "escalate_after_days": _DAYS,
        "remind_every_days": {**_DAYS, "maximum": 365},
    },
}


@dataclass(frozen=True)
class SuspectSettings:
    """Which changes an incident's suspects are (issue 19): how far back, which environments besides production."""

    window_hours: float = 24.0
    environments: tuple[str, ...] = ()  # environment names that count as production whatever their tier
    limit: int = 5
    comment_on_cause: bool = True  # never for a confidential incident

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> SuspectSettings:
        default = cls()
        return cls(
            window_hours=float(raw.get("window_hours", default.window_hours)),
            environments=tuple(raw.get("environments", default.environments)),
            limit=int(raw.get("limit", default.limit)),
            comment_on_cause=bool(raw.get("comment_on_cause", default.comment_on_cause)),
        )


@dataclass(frozen=True)
class FollowUpSettings:
    """Follow-ups: their label, where they are opened (None: the incident's project), due dates, reminders."""

    label: str = "corrective-action"
    project: str | None = None
    due_days: Mapping[int, int | None] = field(default_factory=lambda: dict(FOLLOW_UP_DUE_DAYS))
    escalate_after_days: int = 14  # overdue this long: the incident manager is named too
    remind_every_days: int = 7  # an overdue follow-up is named again this often

    def due_in(self, severity: int | None) -> int | None:
        """Days from opening to the due date for an incident of this (highest) severity; None: no due date."""
        return self.due_days.get(severity) if severity is not None else None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> FollowUpSettings:
        d = cls()
        days = dict(d.due_days)
        for key, value in (raw.get("due_days") or {}).items():
            if isinstance(key, int | str) and not isinstance(key, bool) and str(key).isdigit():
                days[int(key)] = None if value is None else int(value)
        return cls(
            label=str(raw.get("label", d.label)),
            project=raw.get("project") or d.project,
            due_days=days,
            escalate_after_days=int(raw.get("escalate_after_days", d.escalate_after_days)),
            remind_every_days=int(raw.get("remind_every_days", d.remind_every_days)),
        )


@dataclass(frozen=True)
class ProcessSettings:
    """What `settings.yml` sets (schema: `rules.schema`, settings), with the defaults of a rules dir without it."""

    incident_label: str = "incident"
    incident_label_color: str | None = None  # None: the bot's own colour (ops.labels)
    incident_label_description: str = INCIDENT_LABEL_DESCRIPTION
    procedure_url: str = ""  # "": comments link the served handbook (handbook_url), if any
    handbook_url: str = ""
    documentation: str = "In the incident issue."
    native_severity_sync: bool = True
    review_labels: tuple[str, ...] = ()
    reminder_limit: int = 48
    command_min_access: int = 30  # Developer
    broadcast_channels: tuple[str, ...] = ("responders",)
    drill_label: str = "drill"
    training_channel: str = "training"
    drill_limit: tuple[int, float] = DRILL_LIMIT  # (drills, minutes)
    digest: DigestSettings = field(default_factory=DigestSettings)
    suspects: SuspectSettings = field(default_factory=SuspectSettings)
    followups: FollowUpSettings = field(default_factory=FollowUpSettings)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ProcessSettings:
        """The settings from the (schema-checked) `settings:` mapping, defaults for what it leaves out."""
        d = cls()
        limit = raw.get("drill_limit") or {}
        return cls(
            incident_label=str(raw.get("incident_label", d.incident_label)),
            incident_label_color=raw.get("incident_label_color") or d.incident_label_color,
            incident_label_description=str(raw.get("incident_label_description") or d.incident_label_description),
            procedure_url=str(raw.get("procedure_url") or d.procedure_url),
            handbook_url=str(raw.get("handbook_url", d.handbook_url)),
            documentation=str(raw.get("documentation", d.documentation)),
            native_severity_sync=bool(raw.get("native_severity_sync", d.native_severity_sync)),
            review_labels=tuple(raw.get("review_labels", d.review_labels)),
            reminder_limit=int(raw.get("reminder_limit", d.reminder_limit)),
            command_min_access=int(raw.get("command_min_access", d.command_min_access)),
            broadcast_channels=tuple(raw.get("broadcast_channels", d.broadcast_channels)),
            drill_label=str(raw.get("drill_label", d.drill_label)),
            training_channel=str(raw.get("training_channel", d.training_channel)),
            drill_limit=(
                int(limit.get("max_per_person", d.drill_limit[0])),
                float(limit.get("window_minutes", d.drill_limit[1])),
            ),
            digest=DigestSettings.from_mapping(raw.get("digest") or {}),
            suspects=SuspectSettings.from_mapping(raw.get("suspects") or {}),
            followups=FollowUpSettings.from_mapping(raw.get("followups") or {}),
        )
