"""The rules engine: apply the process rules to a Draft until none fires anew.

Conditions are matched by `service.rules.conditions`; actions arrive compiled at load
(`service.rules.actions`) and are applied here through the Draft's methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..incident import CHECKLIST_PREFIX
from ..rules import actions as then
from ..rules.conditions import matches
from ..rules.render import handbook_link, own_procedure
from ..text import checklist_items, mention, neutralise, plain
from .draft import CHECKLIST, POST, ROLES, Draft

CHECKLIST_MARKER = CHECKLIST_PREFIX + " {phase} -->"


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
            for action in rule.actions:
                apply_action(action, d, rule.name)
            if d.version != before:
                changed = True


def _staff(action: then.Staff, d: Draft, rule: str) -> None:
    staffed = dict(d.memory.get("staffed", {}))
    for name in action.roles:
        if name in staffed:
            continue  # staffed once; de-escalation keeps the people engaged
        role = d.rules.roles[name]
        user = d.rules.rotations[role.rotation].on_call(d.now)
        if user is None:
            d.post(
                ROLES,
                f"**{role.title}**: nobody is on call in rotation `{role.rotation}`; please staff this role by hand.",
                rule,
            )
            continue
        staffed[name] = user
        d.assign(user, rule)
        duties = "".join(f"\n  - {duty}" for duty in role.duties)
        if own_procedure(d.rules):
            duties += f"\n  - Handbook: [{role.title}]({handbook_link(d.rules, 'roles', name)})"
        d.post(ROLES, f"**{role.title}**: {mention(user)} (on call in `{role.rotation}`), assigned.{duties}", rule)
        d.timeline(f"{role.title} staffed: {mention(user)}")
    d.remember("staffed", staffed)


def checklist_section(d: Draft, phase_name: str, note: str = "") -> str:
    phase = d.rules.phase(phase_name)
    assert phase is not None
    lines = [f"### {phase.title}{note}"]
    if phase.guidance:
        lines.append(phase.guidance.strip())
    if own_procedure(d.rules):
        lines.append(f"Handbook: [{phase.title}]({handbook_link(d.rules, 'phases', phase.name)})")
    if phase.checklist:
        lines.append(CHECKLIST_MARKER.format(phase=phase.name))
        # Where to read it back: null means "the note carrying this memory" (its id is not known yet).
        d.remember("checklists", {**d.memory.get("checklists", {}), phase.name: None})
        lines += [f"- [ ] {item}" for item in phase.checklist]
    extra = [i for area, _ in d.areas() for i in area.checklists.get(phase.name, ()) if i not in phase.checklist]
    if extra:
        if not phase.checklist:
            lines.append(CHECKLIST_MARKER.format(phase=phase.name))
            d.remember("checklists", {**d.memory.get("checklists", {}), phase.name: None})
        lines += [f"- [ ] {item}" for item in dict.fromkeys(extra)]  # an item two areas ask for, once
    return "\n".join(lines)


def _checklist(action: then.Checklist, d: Draft, rule: str) -> None:
    current = d.phase() if action.phase == "current" else action.phase
    if current is None or not d.claim_checklist(current):
        return  # one checklist per phase in a delivery; conditions keep it to one per phase entry
    names = [p.name for p in d.rules.phases]
    previous = d.before("phase")
    parts = []
    if previous in names and previous != current:
        left = _unticked(d, previous)
        if left:
            title = d.rules.phase(previous).title  # type: ignore[union-attr]
            parts.append(f"Still open from **{title}**:\n" + "\n".join(f"- {neutralise(i)}" for i in left))
        start, end = names.index(previous), names.index(current)
        for skipped in names[start + 1 : end]:
            parts.append(checklist_section(d, skipped, " (skipped phase: its guidance still applies)"))
    parts.append(checklist_section(d, current))
    d.post(CHECKLIST, "\n\n".join(parts), rule)


def _unticked(d: Draft, phase: str) -> list[str]:
    marker = CHECKLIST_MARKER.format(phase=phase)
    for note in d.state.notes:  # newest first
        # Only the bot's own notes: anyone can type the marker and task items into a comment.
        if note.author == d.bot and marker in note.body:
            return checklist_items(note.body.split(marker, 1)[1], ticked=False)
    return []


def _remind(action: then.Remind, d: Draft, rule: str) -> None:
    level = d.severity()
    minutes = action.every_minutes
    if minutes is None and level is not None:
        minutes = d.rules.severities[level].update_every_minutes
    if minutes:
        d.schedule_reminder(float(minutes), action.roles, rule)


def _open_review(action: then.OpenReviewThen, d: Draft, rule: str) -> None:
    if d.memory.get("review"):
        return
    title = f"Post-incident review: {plain(' '.join(d.issue.title.split()))}"
    d.open_review(title, action.labels, action.template, rule)


APPLY: dict[type, Callable[[Any, Draft, str], None]] = {
    then.SetSeverity: lambda a, d, rule: d.set_severity(a.level, rule),
    then.SetPhase: lambda a, d, rule: d.set_phase(a.name, rule),
    then.SetCategory: lambda a, d, rule: d.set_category(a.name, rule),
    then.AddLabelsThen: lambda a, d, rule: d.add_labels(set(a.labels), rule),
    then.RemoveLabelsThen: lambda a, d, rule: d.remove_labels(set(a.labels), rule),
    then.Staff: _staff,
    then.Post: lambda a, d, rule: d.post_template(POST, a.template, rule),
    then.Comment: lambda a, d, rule: d.post_template(POST, a.template, rule),
    then.Checklist: _checklist,
    then.NotifyThen: lambda a, d, rule: d.notify(a.channel, a.message, rule),
    then.Remind: _remind,
    then.OpenReviewThen: _open_review,
    then.CloseIssueThen: lambda a, d, rule: d.close(rule),
}


def apply_action(action: then.Then, draft: Draft, rule: str) -> None:
    """Apply one compiled action of rule `rule` to the draft."""
    APPLY[type(action)](action, draft, rule)
