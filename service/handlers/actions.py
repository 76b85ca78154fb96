"""The closed set of rule actions (`then`): checked at load, applied to a Draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..incident import CHECKLIST_PREFIX
from ..plan import CloseIssue, OpenReview, ScheduleReminder
from ..planner import CHECKLIST, POST, ROLES
from ..text import checklist_items, mention, neutralise, plain

if TYPE_CHECKING:
    from ..planner import Draft
    from ..rules import RuleSet

CHECKLIST_MARKER = CHECKLIST_PREFIX + " {phase} -->"


def _severity(level: int, d: Draft, rule: str) -> None:
    scope = {s.label for s in d.rules.severities.values()}
    d.set_exclusive(d.rules.severities[level].label, scope, rule, "severity")


def _phase(name: str, d: Draft, rule: str) -> None:
    phase = d.rules.phase(name)
    assert phase is not None
    d.set_exclusive(phase.label, {p.label for p in d.rules.phases}, rule, "phase")


def _category(name: str, d: Draft, rule: str) -> None:
    scope = {c.label for c in d.rules.categories.values()}
    d.set_exclusive(d.rules.categories[name].label, scope, rule, "category")


def _staff(arg: Any, d: Draft, rule: str) -> None:
    staffed = dict(d.memory.get("staffed", {}))
    for name in arg if isinstance(arg, list) else [arg]:
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
        d.post(ROLES, f"**{role.title}**: {mention(user)} (on call in `{role.rotation}`), assigned.{duties}", rule)
        d.timeline(f"{role.title} staffed: {mention(user)}")
    d.remember("staffed", staffed)


def _post(name: str, d: Draft, rule: str) -> None:
    d.post_template(POST, d.rules.templates[name], rule)


def _comment(text: str, d: Draft, rule: str) -> None:
    from ..rules import TEMPLATES

    d.post_template(POST, TEMPLATES.from_string(text), rule)


def checklist_section(d: Draft, phase_name: str, note: str = "") -> str:
    phase = d.rules.phase(phase_name)
    assert phase is not None
    lines = [f"### {phase.title}{note}"]
    if phase.guidance:
        lines.append(phase.guidance.strip())
    if phase.checklist:
        lines.append(CHECKLIST_MARKER.format(phase=phase.name))
        # Where to read it back: null means "the note carrying this memory" (its id is not known yet).
        d.remember("checklists", {**d.memory.get("checklists", {}), phase.name: None})
        lines += [f"- [ ] {item}" for item in phase.checklist]
    return "\n".join(lines)


def _checklist(arg: str, d: Draft, rule: str) -> None:
    current = d.phase() if arg == "current" else arg
    posted = d.extra.setdefault("checklists", set())
    if current is None or current in posted:
        return  # one checklist per phase in a delivery; conditions keep it to one per phase entry
    posted.add(current)
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
        if note.author == d.state.bot_username and marker in note.body:
            return checklist_items(note.body.split(marker, 1)[1], ticked=False)
    return []


def _notify(arg: Any, d: Draft, rule: str) -> None:
    channel, message = (
        (arg, "status_update") if isinstance(arg, str) else (arg["channel"], arg.get("message", "status_update"))
    )
    d.notify(channel, message, rule)


def _remind(arg: dict[str, Any], d: Draft, rule: str) -> None:
    level = d.severity()
    minutes = arg.get("every_minutes")
    if minutes is None and level is not None:
        minutes = d.rules.severities[level].update_every_minutes
    if minutes:
        roles = tuple(arg["role"]) if isinstance(arg["role"], list) else (arg["role"],)
        d.actions.append(ScheduleReminder(rule, float(minutes), roles))


def _open_review(arg: Any, d: Draft, rule: str) -> None:
    if d.memory.get("review"):
        return
    template = arg.get("template", "review") if isinstance(arg, dict) else "review"
    labels = tuple(arg.get("labels", ())) if isinstance(arg, dict) else ()
    labels = labels or tuple(d.rules.settings.get("review_labels", ()))
    d.extra["review_template"] = d.rules.templates.get(template)
    title = f"Post-incident review: {plain(' '.join(d.issue.title.split()))}"
    d.actions.append(OpenReview(rule, title, "", labels))
    d.post(POST, "Post-incident review opened: {review_url}", rule)
    d.version += 1


HANDLERS: dict[str, Callable[[Any, Draft, str], None]] = {
    "set_severity": _severity,
    "set_phase": _phase,
    "set_category": _category,
    "add_labels": lambda arg, d, rule: d.add_labels(set(arg), rule),
    "remove_labels": lambda arg, d, rule: d.remove_labels(set(arg), rule),
    "staff": _staff,
    "post": _post,
    "comment": _comment,
    "checklist": _checklist,
    "notify": _notify,
    "remind": _remind,
    "open_review": _open_review,
    "close_issue": lambda arg, d, rule: d.actions.append(CloseIssue(rule)),
}


def apply_action(op: str, arg: Any, draft: Draft, rule: str) -> None:
    HANDLERS[op](arg, draft, rule)


def check_action(op: str, arg: Any, rules: RuleSet) -> str | None:
    """A problem with the action's references, or None."""
    if op == "set_severity" and arg not in rules.severities:
        return f"set_severity: unknown severity {arg!r} (known: {sorted(rules.severities)})"
    if op in ("set_phase", "checklist") and arg != "current" and rules.phase(arg) is None:
        return f"{op}: unknown phase {arg!r} (known: {[p.name for p in rules.phases]})"
    if op == "set_category" and arg not in rules.categories:
        return f"set_category: unknown category {arg!r} (known: {sorted(rules.categories)})"
    if op == "staff":
        unknown = [r for r in (arg if isinstance(arg, list) else [arg]) if r not in rules.roles]
        if unknown:
            return f"staff: unknown role(s) {unknown} (known: {sorted(rules.roles)})"
    if op == "post" and arg not in rules.templates:
        return f"post: unknown template {arg!r} (known: {sorted(rules.templates)})"
    if op == "comment":
        import jinja2

        from ..rules import TEMPLATES

        try:
            TEMPLATES.from_string(arg)
        except jinja2.TemplateSyntaxError as exc:
            return f"comment: template error: {exc.message}"
    if op == "notify":
        channel = arg if isinstance(arg, str) else arg["channel"]
        if channel not in rules.channels:
            return f"notify: unknown channel {channel!r} (known: {sorted(rules.channels)})"
    if op == "remind":
        unknown = [r for r in (arg["role"] if isinstance(arg["role"], list) else [arg["role"]]) if r not in rules.roles]
        if unknown:
            return f"remind: unknown role(s) {unknown}"
    if op == "open_review" and isinstance(arg, dict) and arg.get("template") and arg["template"] not in rules.templates:
        return f"open_review: unknown template {arg['template']!r}"
    return None
