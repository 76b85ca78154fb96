"""Pure planning: `(event, state, rules, clock) -> Plan`, through the steps in STEPS.

A Draft is the incident as the plan would leave it. Built-in steps keep the
exclusive scopes (severity, phase, category) to one label each; then the rules
are applied until none fires anew, so a rule that sets the default severity
lets the severity rules fire in the same delivery. Each rule fires at most once
per delivery, and rules react to differences from the bot's memory (what it
last handled), not to raw events: a repeated label event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ..events import Event
from ..incident import IncidentState
from ..parts import TimelinePart
from ..plan import Notify, OpenReview, Plan, PostNote, Remember, SetNativeSeverity
from ..rules import NATIVE_TO_NAME, RuleSet
from ..rules.render import render
from .areas import apply_areas
from .builtin import confidential_review, exclusive_scopes, native_severity, record
from .commands import run_commands, run_drill_request
from .corrective import track_follow_up
from .deferred import after, similar_section, training_notes
from .draft import DEFAULT_BOT, SUMMARY, Draft, Section
from .drills import drill_injects, route_drill_notifications
from .engine import run_rules
from .paging import on_signal, start_on_severity
from .scorecard import scorecard
from .silences import expire_on_close

# The planning steps, run in this order for every delivery.
STEPS: list[Callable[[Draft], None]] = [
    exclusive_scopes,
    native_severity,
    run_commands,
    drill_injects,
    run_rules,
    apply_areas,
    start_on_severity,  # after the rules staffed the roles a page reaches
    record,
    confidential_review,
    scorecard,  # a drill closing now: its scorecard (filled by the worker from the index)
    expire_on_close,  # an alert incident closing now: the silences the bot made for it (worker/silences.py)
]

OUTSIDE_INCIDENTS: list[Callable[[Draft], None]] = [run_drill_request]
# A delivery the bot queued for one of its pages (a step due, a link acknowledgement): only the page moves.
PAGING: list[Callable[[Draft], None]] = [on_signal]


def plan_event(
    event: Event,
    state: IncidentState,
    rules: RuleSet,
    now: datetime,
    bot: str = DEFAULT_BOT,
    access: int | None = None,
) -> Plan:
    """The consolidated plan for one delivery (`bot`: the bot's username; `access`: the author's level)."""
    if not event.is_incident and not event.is_note:
        # A follow-up's issue (the edge admits it by its label), or one that just lost the incident label: the
        # index forgets that one, and nothing runs.
        return track_follow_up(event, rules, state)
    draft = Draft(event, state, rules, now, bot=bot, access=access)
    # A comment on an issue that is no incident: the edge admits it only for `@bot drill`, and only that runs.
    for step in PAGING if event.paging else STEPS if event.is_incident else OUTSIDE_INCIDENTS:
        step(draft)
    route_drill_notifications(draft)  # always last: nothing any step asked may reach a real channel from a drill
    return finish(draft)


def finish(draft: Draft) -> Plan:
    """Turn the draft into a Plan: summary, sections in order, the parts the worker fills, memory, native severity,
    and the incident as the plan leaves it."""
    rules, memory_before = draft.rules, draft.state.memory
    if not draft.actions and not draft.sections and not draft.notifications and draft.memory == memory_before:
        return Plan()
    actions = list(draft.actions)
    level = draft.severity()
    if rules.settings.native_severity_sync and level is not None and draft.event.is_incident:
        native = rules.severities[level].native
        current = NATIVE_TO_NAME.get((draft.issue.severity or "unknown").lower(), "UNKNOWN")
        handled = memory_before.get("severity")
        if native != current and (level != handled or not memory_before.get("declared")):
            actions.append(SetNativeSeverity("native-severity-sync", native))
    review = draft.review_template
    description = render(review, draft) if review is not None else ""  # the index's timeline appended by the worker
    actions = [
        replace(a, parts=(description, TimelinePart(review=True))) if isinstance(a, OpenReview) else a for a in actions
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
                severity_name=rules.severities[level].name if level is not None else "",
            )
        )
    actions += _notes(draft)
    for key in sorted(set(draft.memory) | set(memory_before)):
        if draft.memory.get(key) != memory_before.get(key):
            actions.append(Remember("memory", key, draft.memory.get(key)))
    return Plan(actions=tuple(actions), after=after(draft, actions))


def _notes(draft: Draft) -> list[PostNote]:
    """The comment's sections in order (the summary first), then what the worker adds from the index."""
    sections = list(draft.sections)
    if draft.did:
        lines = [f"- {what} — rule `{rule}`{_why(draft, rule)}" for what, rule in draft.did]
        sections.append(Section(SUMMARY, "summary", ("**incident-bot** made these changes:\n" + "\n".join(lines),)))
    notes = []
    for section in sorted(sections, key=lambda s: s.order):
        parts = (render(section.template, draft),) if section.template is not None else section.body
        if parts and parts != ("",):
            notes.append(PostNote(section.rule, parts))
    notes += similar_section(draft, notes)
    return notes + training_notes(draft, notes)


def _why(draft: Draft, rule: str) -> str:
    found = next((r for r in draft.rules.rules if r.name == rule), None)
    return f": {found.description}" if found and found.description else ""
