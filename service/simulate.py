"""`incident-bot simulate`: the plan a delivery would produce, with the rule behind each action."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .apply import label_change, note_body
from .events import PayloadError, parse_event
from .incident import IncidentState, Note, state_from_event
from .planner import plan_event
from .rules import RuleSet

STATE_HELP = (
    'state file: {"labels": [...], "assignees": [...], "state": "opened", "memory": {...}, '
    '"actor_access": 30, "bot_username": "incident-bot"}'
)


def _fail(message: str) -> int:
    print(f"incident-bot simulate: {message}", file=sys.stderr)
    return 2


def load_state_file(path: Path, base: IncidentState) -> IncidentState:
    """Overlay a JSON description of the incident's current state on the delivery's own view."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(STATE_HELP)
    issue = replace(
        base.issue,
        labels=frozenset(data.get("labels", base.issue.labels)),
        assignees=tuple(data.get("assignees", base.issue.assignees)),
        state=data.get("state", base.issue.state),
        severity=data.get("severity", base.issue.severity),
    )
    notes = tuple(
        Note(id=i, body=b, author=data.get("bot_username", "incident-bot"))
        for i, b in enumerate(data.get("bot_notes", []), 1)
    )
    return replace(
        base,
        issue=issue,
        memory=data.get("memory", {}),
        notes=notes,
        actor_access=data.get("actor_access", base.actor_access),
        bot_username=data.get("bot_username", base.bot_username),
    )


def simulate(
    payload_path: Path,
    rules: RuleSet,
    *,
    state_file: Path | None = None,
    as_json: bool = False,
    now: datetime | None = None,
) -> int:
    """Print the plan for one delivery; exit code 0, or 2 when an input cannot be read."""
    try:
        payload: Any = json.loads(payload_path.read_text())
        event = parse_event(payload, delivery_id="simulated", incident_label=rules.incident_label)
    except (OSError, ValueError, PayloadError) as exc:
        return _fail(f"{payload_path}: {exc}")
    base = replace(state_from_event(event), actor_access=30)
    try:
        state = load_state_file(state_file, base) if state_file else base
    except (OSError, ValueError) as exc:
        return _fail(f"{state_file}: {exc}")
    if not event.is_incident:
        print(f"not an incident: the bot ignores this delivery (no `{rules.incident_label}` label, type not Incident)")
        return 0
    plan = plan_event(event, state, rules, now or datetime.now(UTC))
    if as_json:
        print(json.dumps([{"action": type(a).__name__, **asdict(a)} for a in plan.actions], indent=2, default=str))
        return 0
    print(
        f"{event.kind.value} {event.action} on {event.project_path or event.project_id}#{event.iid} "
        f"by @{event.actor.username}: {len(plan.actions)} actions"
    )
    if plan.empty:
        print("  nothing to do")
        return 0
    for line in plan.describe():
        print(f"  {line}")
    change = label_change(plan, state.labels)
    print(
        f"\nGitLab writes: one PUT (+{list(change.add)} -{list(change.remove)}) and one note"
        if change.add or change.remove
        else "\nGitLab writes: one note"
    )
    body = note_body(plan)
    if body:
        print("\n--- the comment ---\n" + body)
    return 0
