"""`incident-bot simulate`: the plan a delivery would produce, with the rule behind each action."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .alerts.payload import AlertPayloadError
from .alerts.sources import parse
from .events import PayloadError, parse_event
from .handlers.alerts import plan_alert
from .handlers.draft import DEFAULT_BOT
from .handlers.planner import plan_event
from .incident import IncidentState, Note, state_from_event
from .parts import Composed
from .plan import Action, Remember
from .rules import RuleSet
from .worker.executor import label_change, note_body

STATE_HELP = (
    'state file: {"labels": [...], "assignees": [...], "state": "opened", "memory": {...}, '
    '"actor_access": 30, "bot_username": "incident-bot"}'
)

SIMULATED_ACCESS = 30  # a Developer's: shows what a command would do


def _fail(message: str) -> int:
    print(f"incident-bot simulate: {message}", file=sys.stderr)
    return 2


def load_state_file(path: Path, base: IncidentState) -> tuple[IncidentState, str, int | None]:
    """Overlay a JSON description of the incident on the delivery's own view; also the bot and the access level."""
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
        Note(id=i, body=b, author=data.get("bot_username", DEFAULT_BOT))
        for i, b in enumerate(data.get("bot_notes", []), 1)
    )
    state = replace(base, issue=issue, memory=data.get("memory", {}), notes=notes)
    return state, data.get("bot_username", DEFAULT_BOT), data.get("actor_access", SIMULATED_ACCESS)


def simulate_alert(body: bytes, payload: dict[str, Any], rules: RuleSet, *, as_json: bool, now: datetime | None) -> int:
    """The plan for an alert group the bot has not seen: its route, project, severity and the incident it opens."""
    source = "alertmanager" if "alerts" in payload else "generic"
    if not rules.alerts.configured:
        return _fail("no rules/alerts.yml: alerts open no incidents")
    try:
        group = parse(source, body)
    except AlertPayloadError as exc:
        return _fail(f"{source} alert: {exc}")
    planned = plan_alert(group, None, rules, now or datetime.now(UTC), opening="simulated")
    if as_json:
        print(json.dumps([{"action": type(a).__name__, **asdict(a)} for a in planned.plan.actions], indent=2))
        return 0
    routed = planned.routed
    print(
        f"{group.source} alert group {group.group_id}: route {routed.route}, project {routed.project}, "
        f"severity {routed.severity}, on resolve: {routed.on_resolved.value}"
    )
    for line in planned.plan.describe():
        print(f"  {line}")
    return 0


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
        if isinstance(payload, dict) and "object_kind" not in payload:  # an alert notification (issue 18)
            return simulate_alert(payload_path.read_bytes(), payload, rules, as_json=as_json, now=now)
        event = parse_event(payload, delivery_id="simulated", incident_label=rules.incident_label)
    except (OSError, ValueError, PayloadError) as exc:
        return _fail(f"{payload_path}: {exc}")
    base = state_from_event(event)
    try:
        state, bot, access = load_state_file(state_file, base) if state_file else (base, DEFAULT_BOT, SIMULATED_ACCESS)
    except (OSError, ValueError) as exc:
        return _fail(f"{state_file}: {exc}")
    asks_for_drill = (event.command(bot) or ("",))[0] == "drill"  # admitted on any issue
    if not event.is_incident and not asks_for_drill:
        print(f"not an incident: the bot ignores this delivery (no `{rules.incident_label}` label, type not Incident)")
        return 0
    plan = plan_event(event, state, rules, now or datetime.now(UTC), bot=bot, access=access)
    if as_json:
        print(json.dumps([_as_json(a) for a in plan.actions], indent=2, default=str))
        return 0
    print(
        f"{event.kind.value} {event.action} on {event.project_path or event.project_id}#{event.iid} "
        f"by @{event.actor.username}: {len(plan.actions)} actions"
    )
    if plan.empty:
        print("  nothing to do")
        return 0
    areas = next((a.value for a in plan.actions if isinstance(a, Remember) and a.key == "areas"), None)
    if areas:
        print(f"  functional areas: {', '.join(areas)}")
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


def _as_json(action: Action) -> dict[str, Any]:
    """One action for `--json`: its fields, planned text as it reads (a deferred part by its preview)."""
    if isinstance(action, Composed):
        fields = {k: (action.preview if k == "parts" else getattr(action, k)) for k in vars(action)}
        return {
            "action": type(action).__name__,
            **{(action.SHOWN_AS if k == "parts" else k): v for k, v in fields.items()},
        }
    return {"action": type(action).__name__, **asdict(action)}
