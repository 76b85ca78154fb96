"""What rules templates see (the render context) and how they are rendered for the facts of a plan (a Draft)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jinja2

from ..text import neutralise_line

if TYPE_CHECKING:
    from .facts import TemplateFacts
    from .model import RuleSet


def handbook_link(rules: RuleSet, section: str = "", anchor: str = "") -> str:
    """A link into the served handbook (`settings.handbook_url`, e.g. https://bot/handbook), or "" when unset."""
    base = rules.settings.handbook_url.rstrip("/")
    if not base:
        return ""
    return (f"{base}/{section}" if section else base) + (f"#{anchor}" if anchor else "")


def own_procedure(rules: RuleSet) -> bool:
    """Whether comments link the served handbook's sections: `procedure_url` left out, `handbook_url` given."""
    return not rules.settings.procedure_url and bool(handbook_link(rules))


def context(d: TemplateFacts) -> dict[str, Any]:
    """What templates may use; every user-supplied string is already neutralised."""
    rules = d.rules
    level = d.severity()
    phase = rules.phase(d.phase())
    category = d.category()
    staffed = d.memory.get("staffed", {})
    return {
        "incident": {
            "title": neutralise_line(d.issue.title),
            "url": d.issue.web_url or d.event.url,
            "iid": d.event.iid,
            "project": d.event.project_path,
            "severity": level,
            "severity_name": rules.severities[level].name if level else "unset",
            "severity_label": rules.severities[level].label if level else "",
            "phase": phase.name if phase else None,
            "phase_title": phase.title if phase else "unset",
            "category": category,
            "confidential": d.issue.confidential,
        },
        "previous": {"severity": d.before("severity"), "phase": d.before("phase"), "category": d.before("category")},
        "actor": neutralise_line(d.event.actor.username),
        "severities": [
            {"level": s.level, "label": s.label, "name": s.name, "description": s.description}
            for s in sorted(rules.severities.values(), key=lambda s: s.level)
        ],
        "roles": {
            name: {"title": rules.roles[name].title, "user": neutralise_line(str(user))}
            for name, user in staffed.items()
            if name in rules.roles
        },
        # Entries are stored as written (with usernames) and made inert here, where they are shown.
        "timeline": [
            {"at": neutralise_line(str(e.get("at", ""))), "what": neutralise_line(str(e.get("what", "")), people=True)}
            for e in d.memory.get("timeline", [])
            if isinstance(e, dict)
        ],
        "procedure_url": rules.settings.procedure_url or handbook_link(rules),
        "handbook": {
            "index": handbook_link(rules),
            "phase": handbook_link(rules, "phases", phase.name) if phase and handbook_link(rules) else "",
            "roles": {name: handbook_link(rules, "roles", name) for name in rules.roles},
        },
        "documentation": rules.settings.documentation,
        "now": d.now.strftime("%Y-%m-%d %H:%M UTC"),
    }


def render(template: jinja2.Template, d: TemplateFacts) -> str:
    """Render a rules template for these facts (sandboxed; unknown names are errors at plan time)."""
    return template.render(context(d)).strip()
