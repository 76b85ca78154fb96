"""Targets per severity (`targets: {acknowledge_minutes, mitigate_minutes, resolve_minutes}` in the rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .figures import TARGETS, Targets


def targets_from_rules(rules: Any) -> Targets:
    """Each severity's targets as the rules define them (a severity without targets has none)."""
    found: dict[int, dict[str, float]] = {}
    for level, severity in getattr(rules, "severities", {}).items():
        raw = getattr(severity, "targets", None)
        if isinstance(raw, Mapping):
            found[int(level)] = {k: float(v) for k, v in raw.items() if k in TARGETS.values() and v is not None}
    return found
