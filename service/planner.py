"""Pure planning: `(event, state, rules, clock) -> Plan`.

A Draft is the incident as the plan would leave it. Built-in steps keep the
exclusive scopes (severity, phase, category) to one label each; then the rules
are applied until none fires anew, so a rule that sets the default severity
lets the severity rules fire in the same delivery. Each rule fires at most once
per delivery, and rules react to differences from the bot's memory (what it
last handled), not to raw events: a repeated label event changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .events import Event
from .incident import IncidentState, Issue
from .plan import (
    Action,
    AddLabels,
    Assign,
    Notify,
    OpenReview,
    Plan,
    PostNote,
    Remember,
    RemoveLabels,
    SetNativeSeverity,
    Unassign,
)
from .rules import RuleSet
from .text import render

# Note sections, in the order they appear in the bot's comment.
SUMMARY, REPLY, POST, ROLES, CHECKLIST = 0, 5, 10, 20, 30
NATIVE_TO_NAME = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "unknown": "UNKNOWN"}
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class Section:
    """A piece of the delivery's comment; a template is rendered when the plan is complete."""

    order: int
    rule: str
    body: str = ""
    template: Any = None


class Draft:
    """The incident as this plan would leave it; the only mutable thing during planning."""

    def __init__(self, event: Event, state: IncidentState, rules: RuleSet, now: datetime):
        self.event: Event = event
        self.state: IncidentState = state
        self.issue: Issue = state.issue
        self.rules = rules
        self.now = now
        self.labels: set[str] = set(state.labels)
        self.memory: dict[str, Any] = copy.deepcopy(state.memory)
        self.actions: list[Action] = []
        self.sections: list[Section] = []
        self.did: list[tuple[str, str]] = []  # (what, rule) for the summary
        self.closing = event.action == "close" or state.issue.state == "closed"
        self.version = 0
        self.extra: dict[str, Any] = {}
        self.changes: list[str] = []  # this delivery's timeline entries: the "what changed" of messages
        self.notifications: list[tuple[str, str, str, str]] = []  # (channel, message, rule, text)

    # What the incident is now.
    def before(self, key: str) -> Any:
        return self.state.memory.get(key)

    def issue_state(self) -> str:
        return "closed" if self.closing else "opened"

    def severity(self) -> int | None:
        present = [s.level for s in self.rules.severities.values() if s.label in self.labels]
        return min(present) if present else None

    def phase(self) -> str | None:
        present = [p.name for p in self.rules.phases if p.label in self.labels]
        return present[-1] if present else None

    def category(self) -> str | None:
        return next((c.name for c in self.rules.categories.values() if c.label in self.labels), None)

    # Changes.
    def _labels(self, add: set[str], remove: set[str], rule: str) -> bool:
        add, remove = add - self.labels, remove & self.labels
        if not add and not remove:
            return False
        if add:
            self.actions.append(AddLabels(rule, tuple(sorted(add))))
        if remove:
            self.actions.append(RemoveLabels(rule, tuple(sorted(remove))))
        self.labels = (self.labels | add) - remove
        self.version += 1
        return True

    def add_labels(self, labels: set[str], rule: str) -> None:
        if self._labels(set(labels), set(), rule):
            self.did.append((f"added {_codes(labels)}", rule))

    def remove_labels(self, labels: set[str], rule: str) -> None:
        present = set(labels) & self.labels
        if self._labels(set(), set(labels), rule):
            self.did.append((f"removed {_codes(present)}", rule))

    def set_exclusive(self, label: str, scope: set[str], rule: str, what: str) -> None:
        """Make `label` the one label of its scope."""
        others = (scope - {label}) & self.labels
        if self._labels({label}, others, rule):
            self.did.append((f"set {what} `{label}`" + (f" (removed {_codes(others)})" if others else ""), rule))

    def assign(self, username: str, rule: str) -> None:
        self.actions.append(Assign(rule, (username,)))
        self.version += 1

    def post(self, order: int, body: str, rule: str) -> None:
        if body.strip():
            self.sections.append(Section(order, rule, body.strip()))
            self.version += 1

    def notify(self, channel: str, message: str, rule: str, text: str = "") -> None:
        """Tell a channel, once per delivery; the message is completed when the plan is."""
        if not any(c == channel and m == message for c, m, _, _ in self.notifications):
            self.notifications.append((channel, message, rule, text))
            self.version += 1

    def unassign(self, username: str, rule: str) -> None:
        self.actions.append(Unassign(rule, (username,)))
        self.version += 1

    def post_template(self, order: int, template: Any, rule: str) -> None:
        """Post a template rendered against the finished draft, so it shows the final severity and roles."""
        self.sections.append(Section(order, rule, template=template))
        self.version += 1

    def remember(self, key: str, value: Any) -> None:
        if self.memory.get(key) != value:
            self.memory[key] = value
            self.version += 1

    def timeline(self, what: str, first: bool = False) -> None:
        """Add to the incident's timeline; `first` puts it before this delivery's other entries."""
        entries = list(self.memory.get("timeline", []))
        entry = {"at": self.now.strftime("%Y-%m-%d %H:%M UTC"), "what": what}
        self.changes.insert(0, what) if first else self.changes.append(what)
        if first:
            entries.insert(len(self.state.memory.get("timeline", [])), entry)
        else:
            entries.append(entry)
        self.memory["timeline"] = entries[-TIMELINE_LIMIT:]


def _codes(labels: set[str] | frozenset[str]) -> str:
    return ", ".join(f"`{label}`" for label in sorted(labels))


def plan_event(event: Event, state: IncidentState, rules: RuleSet, now: datetime) -> Plan:
    """The consolidated plan for one delivery."""
    from .handlers import HANDLERS

    draft = Draft(event, state, rules, now)
    for handler in HANDLERS:
        handler(draft)
    return finish(draft)


def finish(draft: Draft) -> Plan:
    """Turn the draft into a Plan: summary, sections in order, memory, native severity."""
    rules, memory_before = draft.rules, draft.state.memory
    if not draft.actions and not draft.sections and not draft.notifications and draft.memory == memory_before:
        return Plan()
    level = draft.severity()
    if rules.settings.get("native_severity_sync", True) and level is not None:
        native = rules.severities[level].native
        current = NATIVE_TO_NAME.get((draft.issue.severity or "unknown").lower(), "UNKNOWN")
        handled = memory_before.get("severity")
        if native != current and (level != handled or not memory_before.get("declared")):
            draft.actions.append(SetNativeSeverity("native-severity-sync", native))
    if draft.did:
        lines = [f"- {what} — rule `{rule}`{_why(draft, rule)}" for what, rule in draft.did]
        draft.sections.append(Section(SUMMARY, "summary", "**incident-bot** made these changes:\n" + "\n".join(lines)))
    review = draft.extra.get("review_template")
    actions = [
        replace(a, description=render(review, draft)) if isinstance(a, OpenReview) and review is not None else a
        for a in draft.actions
    ]
    staffed = draft.memory.get("staffed", {})
    roles = tuple((rules.roles[r].title, u) for r, u in staffed.items() if r in rules.roles)
    phase = rules.phase(draft.phase())
    for channel, message, rule, text in draft.notifications:
        actions.append(
            Notify(
                rule,
                channel,
                message,
                change="; ".join(draft.changes),
                text=text,
                severity=level,
                phase=phase.title if phase else None,
                roles=roles,
            )
        )
    for section in sorted(draft.sections, key=lambda s: s.order):
        body = render(section.template, draft) if section.template is not None else section.body
        if body:
            actions.append(PostNote(section.rule, body))
    for key in sorted(set(draft.memory) | set(memory_before)):
        if draft.memory.get(key) != memory_before.get(key):
            actions.append(Remember("memory", key, draft.memory.get(key)))
    return Plan(actions=tuple(actions))


def _why(draft: Draft, rule: str) -> str:
    found = next((r for r in draft.rules.rules if r.name == rule), None)
    return f": {found.description}" if found and found.description else ""
