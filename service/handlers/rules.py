"""The rules engine: apply the process rules to a Draft until none fires anew."""

from __future__ import annotations

from ..planner import Draft
from .actions import apply_action
from .conditions import matches


def run_rules(d: Draft) -> None:
    """Fire each matching rule once, re-checking the others after every change (fixpoint)."""
    fired: set[str] = set()
    rules = d.rules.rules
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.name in fired or not matches(rule.when, d):
                continue
            fired.add(rule.name)
            before = d.version
            for op, arg in rule.then:
                apply_action(op, arg, d, rule.name)
            if d.version != before:
                changed = True
