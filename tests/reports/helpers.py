"""Figures shared by the report tests."""

from __future__ import annotations

# The targets per severity the hand-built histories are measured against.
TARGETS = {
    1: {"acknowledge_minutes": 15, "mitigate_minutes": 240, "resolve_minutes": 1440},
    2: {"acknowledge_minutes": 30, "mitigate_minutes": 480, "resolve_minutes": 2880},
    3: {"acknowledge_minutes": 60, "mitigate_minutes": 1440, "resolve_minutes": 10080},
}  # severity 4 has none
