"""Functional areas in the plan: say which apply (once each), staff their roles, tell their channels.

An area's checklist items join its phase's checklist where that is posted (`engine.checklist_section`);
which areas apply is `Draft.areas()`: those matching the incident now, and those applied before.
"""

from __future__ import annotations

from ..rules.actions import Staff
from .draft import ROLES, Draft
from .engine import apply_action

RULE = "area:{}"


def apply_areas(d: Draft) -> None:
    """Merge the applying areas' requirements into the plan; announce an area the first time it applies."""
    found = d.areas()
    if not found:
        return
    known = list(d.memory.get("areas", []))
    for area, why in found:
        if area.name in known:
            continue
        known.append(area.name)
        adds = [f"its {phase} checklist items" for phase in area.checklists]
        adds += [f"role `{role}`" for role in area.roles] + [f"channel `{c}`" for c in area.channels]
        text = f"**Functional area: {area.title}** applies ({why})"
        d.post(ROLES - 1, text + (": " + ", ".join(adds) + "." if adds else "."), RULE.format(area.name))
        d.timeline(f"functional area {area.title} applied ({why})")
    d.remember("areas", known)
    if d.issue_state() == "opened":
        roles = tuple(dict.fromkeys(role for area, _ in found for role in area.roles))
        if roles:
            apply_action(Staff(roles), d, RULE.format("staffing"))
    broadcast = set(d.rules.settings.broadcast_channels)
    told = [(message, text) for channel, message, _, text in d.notifications if channel in broadcast]
    for area, _ in found:
        for channel in area.channels:
            for message, text in dict.fromkeys(told):
                d.notify(channel, message, RULE.format(area.name), text)
