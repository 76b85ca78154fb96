"""What the handbook says: its pages, built from the rules alone (so it never drifts from what the bot does).

A page is a title and a list of blocks (heading, paragraph, list, task list, table). Text may hold
`code` spans and links written `[text](page:slug#anchor)`; `handbook.py` renders both per format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.durations import human_duration
from service.handlers.commands import COMMANDS, HELP
from service.rules import RuleSet

# Slugs are part of the bot's comments (rules/render.py links `phases#<phase>`, `roles#<role>`): keep them.
INDEX, SEVERITIES, ROLES, PHASES, COMMUNICATION, COMMANDS_PAGE, GLOSSARY = (
    "index",
    "severities",
    "roles",
    "phases",
    "communication",
    "commands",
    "glossary",
)
MESSAGES = {
    "declared": "an incident is declared",
    "escalated": "the severity is raised",
    "deescalated": "the severity is lowered",
    "phase": "the incident enters a phase",
    "handoff": "a role is handed off",
    "status_update": "a status update is posted",
    "resolved": "the incident is resolved",
    "page": "a team is paged",
}
GLOSSARY_TERMS = (
    ("Incident", "An issue carrying the incident label; the bot handles it from then on."),
    ("Severity", "How bad the impact is, from 1 (worst) down; it decides who is engaged and how often to update."),
    ("Phase", "Where the response stands: each phase has its guidance and checklist."),
    ("Role", "A duty held by one person at a time, staffed from an on-call rotation."),
    ("Rotation", "The people who take turns being on call for a role or a team, and when they hand over."),
    ("Team", "A group that can be paged into an incident with a comment command."),
    ("Channel", "Where the bot tells people about incidents (chat, webhook or e-mail)."),
    ("Category", "What kind of incident it is; it decides which team owns it."),
    ("Functional area", "A part of Engineering with its own extra requirements, merged into the plan."),
    ("Timeline", "The incident's events with times, kept by the bot in its comments and the index."),
    ("Post-incident review", "A linked issue to learn from a severe incident: root cause, what went well or badly."),
    ("Hand-off", "Passing a role to someone else explicitly, so nobody holds it by accident."),
    ("Status update", "A short account of where the incident stands, posted on the severity's cadence."),
    ("Drill", "A practice incident of a scenario: the process runs for real, only the training channel is told."),
)


@dataclass(frozen=True)
class Block:
    """One piece of a page: `h` (heading, with an anchor), `p`, `ul`, `tasks`, `table` (first row: header)."""

    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    anchor: str = ""


@dataclass(frozen=True)
class Page:
    """One handbook page: its slug (file name and URL), its title, its blocks."""

    slug: str
    title: str
    blocks: tuple[Block, ...] = field(default=())


def h(text: str, anchor: str = "") -> Block:
    return Block("h", text, anchor=anchor)


def p(text: str) -> Block:
    return Block("p", text)


def ul(items: Iterable[str]) -> Block:
    return Block("ul", items=tuple(items))


def table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> Block:
    return Block("table", rows=(header, *rows))


def commands(rules: RuleSet, bot: str) -> list[tuple[str, str]]:
    """Each comment command as (syntax, what it does), read from the help the bot itself posts."""
    found = []
    for line in HELP.splitlines():
        if line.startswith("| `@{bot}"):
            syntax, what = (cell.strip() for cell in line.strip("|").split("|", 1))
            found.append((syntax.strip("`").replace("{bot}", bot), what.split(" (")[0].strip("| ")))
    named = {s.split()[1] for s, _ in found}
    found += [(f"@{bot} {name}", "see `@" + bot + " help`") for name in COMMANDS if name not in named]
    return found


def notifications(rules: RuleSet) -> list[tuple[str, str, str]]:
    """(channel, what it is told, the rule's description) for each `notify` action of the rules."""
    told = []
    for rule in rules.rules:
        for action, argument in rule.then:
            if action != "notify":
                continue
            channel = argument if isinstance(argument, str) else argument.get("channel", "")
            message = "declared" if isinstance(argument, str) else argument.get("message", "declared")
            told.append((channel, MESSAGES.get(message, message), rule.description or rule.name))
    return told


def index_page(rules: RuleSet, bot: str, sections: list[tuple[str, str]]) -> Page:
    lowest = max(rules.severities) if rules.severities else None
    default = next((a for r in rules.rules for k, a in r.then if k == "set_severity"), lowest)
    levels = ", ".join(f"`{s.label}`" for s in sorted(rules.severities.values(), key=lambda s: s.level))
    return Page(
        INDEX,
        "Incident handbook",
        (
            h("How to raise an incident", "raise"),
            Block(
                "ol",
                items=(
                    "Open an issue in the affected project (a confidential one if data or security is at stake).",
                    f"Add the label `{rules.incident_label}`: the bot takes it from there.",
                    f"Add one severity label ({levels}); without one it starts at severity {default}. "
                    "See [severity levels](page:severities).",
                    "Describe the impact: who and what is affected, since when. The bot staffs the roles "
                    "and posts the checklist.",
                    f"Steer it with comments such as `@{bot} severity 1` or `@{bot} page <team>` "
                    "([commands](page:commands)).",
                ),
            ),
            h("Pages", "pages"),
            ul(f"[{title}](page:{slug})" for slug, title in sections),
        ),
    )


def severities_page(rules: RuleSet, areas: tuple[Any, ...] = ()) -> Page:
    rows = [
        (
            f"`{s.label}`",
            s.name,
            s.description,
            human_duration(s.update_every_minutes, "none"),
            human_duration(s.targets.get("acknowledge_minutes"), "none"),
            human_duration(s.targets.get("mitigate_minutes"), "none"),
            human_duration(s.targets.get("resolve_minutes"), "none"),
        )
        for s in sorted(rules.severities.values(), key=lambda s: s.level)
    ]
    blocks = [
        p("The severity decides who is engaged and how often the incident's status is told. Raise it when in doubt."),
        table(("Label", "Name", "Meaning", "Status update every", "Acknowledge", "Mitigate", "Resolve"), rows),
        p("Targets are times from the start of the incident; the reports count a time over one as a breach."),
    ]
    for area in areas:
        if area.severity_examples:
            blocks.append(h(f"Examples: {area.title}", f"examples-{area.name}"))
            blocks.append(ul(f"Severity {level}: {text}" for level, text in sorted(area.severity_examples.items())))
    return Page(SEVERITIES, "Severity levels", tuple(blocks))


def engaged(rules: RuleSet, role: str) -> list[str]:
    """The rules that staff `role`, by description (how the role is engaged)."""
    found = []
    for rule in rules.rules:
        for action, argument in rule.then:
            if action != "staff":
                continue
            names = [argument] if isinstance(argument, str) else list(argument)
            if role in names:
                found.append(rule.description or rule.name)
    return found


def roles_page(rules: RuleSet, bot: str, now: datetime | None) -> Page:
    blocks: list[Block] = []
    for role in rules.roles.values():
        blocks.append(h(role.title, role.name))
        blocks.append(ul(role.duties))
        how = engaged(rules, role.name) or ["staffed by hand (no rule staffs it)"]
        blocks.append(p(f"Engaged when: {'; '.join(how)}. Staffed from rotation `{role.rotation}`."))
        blocks.append(p(f"Hand it over with `@{bot} handoff {role.name} @user`."))
    blocks.append(h("Teams", "teams"))
    blocks.append(
        table(
            ("Team", "Page with", "Rotation", "Channel"),
            (
                (t.title, f"`@{bot} page {t.name}`", f"`{t.rotation}`", f"`{t.channel}`" if t.channel else "broadcast")
                for t in rules.teams.values()
            ),
        )
    )
    blocks.append(h("On call now", "on-call"))
    if now is None:
        blocks.append(p("Who is on call now is shown on the served handbook (`/handbook/roles`)."))
    else:
        rows = [(f"`{name}`", rotation.on_call(now) or "nobody") for name, rotation in rules.rotations.items()]
        blocks.append(p(f"At {now:%Y-%m-%d %H:%M} UTC:"))
        blocks.append(table(("Rotation", "On call"), rows))
    return Page(ROLES, "Roles and teams", tuple(blocks))


def phases_page(rules: RuleSet, areas: tuple[Any, ...] = ()) -> Page:
    blocks: list[Block] = [p("Move on by setting the next phase label; closing the issue resolves the incident.")]
    names = [ph.name for ph in rules.phases]
    for i, phase in enumerate(rules.phases):
        blocks.append(h(phase.title, phase.name))
        blocks.append(p(f"Label `{phase.label}`. {phase.guidance}"))
        blocks.append(Block("tasks", items=phase.checklist))
        for area in areas:
            extra = area.checklists.get(phase.name, ())
            if extra:
                blocks.append(p(f"When the incident is {area.title}'s ([{area.title}](page:area-{area.name})):"))
                blocks.append(Block("tasks", items=tuple(extra)))
        if i + 1 < len(names):
            nxt = rules.phases[i + 1]
            blocks.append(p(f"Move on to {nxt.title} (`{nxt.label}`) when this checklist is done."))
    return Page(PHASES, "Phases", tuple(blocks))


def communication_page(rules: RuleSet, bot: str) -> Page:
    broadcast = rules.settings.broadcast_channels
    blocks = [
        h("Who is told what", "told"),
        table(("Channel", "Told when", "Rule"), ((f"`{c}`", what, why) for c, what, why in notifications(rules))),
        h("Channels", "channels"),
        table(("Channel", "Kind"), ((f"`{c.name}`", c.kind.value) for c in rules.channels.values())),
        p(f"Status updates (`@{bot} update <text>`) and hand-offs go to: {', '.join(f'`{c}`' for c in broadcast)}."),
        h("Cadence", "cadence"),
        table(
            ("Severity", "Status update every"),
            ((f"`{s.label}`", human_duration(s.update_every_minutes, "none")) for s in rules.severities.values()),
        ),
        p("The bot reminds the Incident Manager (else the Engineer On Call) when an update is due."),
        h("Where to document", "documentation"),
        p(rules.settings.documentation),
    ]
    return Page(COMMUNICATION, "Communication", tuple(blocks))


def commands_page(rules: RuleSet, bot: str) -> Page:
    minimum = rules.settings.command_min_access
    return Page(
        COMMANDS_PAGE,
        "Comment commands",
        (
            p(f"Start a comment on the incident with `@{bot}`. Access level {minimum} or more is needed."),
            table(("Command", "What it does"), ((f"`{s}`", what) for s, what in commands(rules, bot))),
        ),
    )


def glossary_page(rules: RuleSet) -> Page:
    rows = [
        *GLOSSARY_TERMS,
        *((f"Category `{c.name}`", f"Label `{c.label}`. {c.description}".strip()) for c in rules.categories.values()),
    ]
    return Page(GLOSSARY, "Glossary", (table(("Term", "Meaning"), rows),))
