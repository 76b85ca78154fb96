"""Text that reaches a comment: user input neutralised, templates rendered in a sandbox."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import jinja2

if TYPE_CHECKING:
    from .planner import Draft

_LINE_START_SLASH = re.compile(r"^(\s*)/", re.MULTILINE)
_TASK = re.compile(r"^\s*[-*] \[(?P<mark>[ xX~])\] (?P<text>.+)$")


def neutralise(text: str) -> str:
    """User text made inert in Markdown: no raw HTML, no mentions (`@all`), no quick action at line start."""
    text = html.escape(text, quote=False)
    text = text.replace("@", "&#64;")
    # GitLab runs a quick action only when `/command` starts a line.
    return _LINE_START_SLASH.sub(r"\1&#47;", text)


def checklist_items(body: str, *, ticked: bool) -> list[str]:
    """The task-list items right after a checklist marker: ticked or unticked ones."""
    items: list[str] = []
    for line in body.splitlines():
        if not line.strip():
            if items:
                break
            continue
        match = _TASK.match(line)
        if not match:
            break
        done = match.group("mark") in "xX~"
        if done == ticked:
            items.append(match.group("text").strip())
    return items


def context(d: Draft) -> dict[str, Any]:
    """What templates may use; every user-supplied string is already neutralised."""
    rules = d.rules
    level = d.severity()
    phase = rules.phase(d.phase())
    category = d.category()
    staffed = d.memory.get("staffed", {})
    return {
        "incident": {
            "title": neutralise(d.issue.title),
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
        "actor": neutralise(d.event.actor.username),
        "severities": [
            {"level": s.level, "label": s.label, "name": s.name, "description": s.description}
            for s in sorted(rules.severities.values(), key=lambda s: s.level)
        ],
        "roles": {
            name: {"title": rules.roles[name].title, "user": user}
            for name, user in staffed.items()
            if name in rules.roles
        },
        "timeline": list(d.memory.get("timeline", [])),
        "procedure_url": rules.settings.get("procedure_url", ""),
        "documentation": rules.settings.get("documentation", ""),
        "now": d.now.strftime("%Y-%m-%d %H:%M UTC"),
    }


def render(template: jinja2.Template, d: Draft) -> str:
    """Render a rules template for this draft (sandboxed; unknown names are errors at plan time)."""
    return template.render(context(d)).strip()
