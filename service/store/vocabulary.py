"""The labels that mean severity, phase, category, incident and drill, and reading an incident from its labels.

Built from the rules by `observe.vocabulary(rules)`; the same object serves the worker's
incremental path and `reindex`, so both read labels exactly alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# The process's phase names that the definitions of acknowledged/mitigated/resolved refer to.
MITIGATION = "mitigation"
REMEDIATION = "remediation"
POST_INCIDENT = "post-incident"


@dataclass(frozen=True)
class Vocabulary:
    """Label names of each scope, in the rules' order, and the bot's username."""

    severities: dict[str, int] = field(
        default_factory=lambda: {f"severity::{n}": n for n in (1, 2, 3, 4)}
    )  # label -> level
    phases: tuple[tuple[str, str], ...] = (
        ("incident::identification", "identification"),
        ("incident::mitigation", MITIGATION),
        ("incident::remediation", REMEDIATION),
        ("incident::post-incident", POST_INCIDENT),
    )  # (label, name) in process order
    categories: tuple[tuple[str, str], ...] = (
        ("incident-category::security", "security"),
        ("incident-category::availability", "availability"),
        ("incident-category::performance", "performance"),
        ("incident-category::data-loss", "data-loss"),
        ("incident-category::other", "other"),
    )
    incident_label: str = "incident"
    drill_label: str = "drill"
    bot_username: str = "incident-bot"
    follow_up_label: str = "corrective-action"  # settings.followups.label: reindex adopts the linked issues with it
    review_labels: tuple[str, ...] = ()  # settings.review_labels: an issue linked with one is the incident's review

    def severity(self, labels: Iterable[str]) -> int | None:
        """The most severe level present (as the planner reads it)."""
        present = [self.severities[label] for label in labels if label in self.severities]
        return min(present) if present else None

    def phase(self, labels: Iterable[str]) -> str | None:
        """The latest phase present (as the planner reads it)."""
        have = set(labels)
        present = [name for label, name in self.phases if label in have]
        return present[-1] if present else None

    def category(self, labels: Iterable[str]) -> str | None:
        """The first category present in the rules' order."""
        have = set(labels)
        return next((name for label, name in self.categories if label in have), None)

    def phase_names(self) -> list[str]:
        """Phase names in process order."""
        return [name for _, name in self.phases]

    def is_status_update(self, body: str) -> bool:
        """A comment whose line starts `@<bot> update <text>`: a status update (the `update` command)."""
        pattern = rf"^\s*@{re.escape(self.bot_username)}\s+update\s+\S"
        return re.search(pattern, body, re.IGNORECASE | re.MULTILINE) is not None
