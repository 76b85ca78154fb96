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
        )
