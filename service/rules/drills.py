"""Drill scenarios (`rules/drills/*.yml`): read, validated and cross-checked; the marker a drill issue carries.

One file per scenario, named by its file stem (`database-outage.yml` is the scenario `database-outage`).
A scenario may name only the areas, categories, severities and phases the rest of the rules define;
every mistake is reported with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ..text import mention
from .folder import read_folder
from .model import Drill, ExpectedPhase, Inject, RuleSet
from .source import Located, Problem

DRILLS_DIR = "drills"
MAX_DRILLS = 100
MAX_DRILL_BYTES = 64 * 1024
MAX_DRILL_MINUTES = 7 * 24 * 60  # a drill lasts at most a week: injects and phase targets within it
_NAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$"}
_STEM = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_MINUTES = {"type": "number", "minimum": 0, "maximum": MAX_DRILL_MINUTES}
DRILL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "incident-bot drill scenario",
    "type": "object",
    "additionalProperties": False,
    "required": ["drill"],
    "properties": {
        "drill": {
            "type": "object",
            "additionalProperties": False,
            "required": ["title", "description", "severity"],
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": {"type": "string", "minLength": 1, "maxLength": 20_000},
                "area": {**_NAME, "description": "A functional area (rules/areas); its requirements apply."},
                "category": {**_NAME, "description": "A category name; its label is set on the drill issue."},
                "severity": {"type": "integer", "minimum": 1, "maximum": 9, "description": "The expected one."},
                "injects": {
                    "type": "array",
                    "maxItems": 50,
                    "description": "Timed comments the bot posts as the drill unfolds.",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["after_minutes", "text"],
                        "properties": {
                            "after_minutes": _MINUTES,
                            "text": {"type": "string", "minLength": 1, "maxLength": 5_000},
                        },
                    },
                },
                "phases": {
                    "type": "array",
                    "maxItems": 20,
                    "description": "Expected phase moves: reach `phase` within `by_minutes` of the start.",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["phase", "by_minutes"],
                        "properties": {"phase": _NAME, "by_minutes": _MINUTES},
                    },
                },
            },
        }
    },
}
_VALIDATOR = Draft202012Validator(DRILL_SCHEMA)
# settings.drill_limit: how many drills one person may open by command in one project within a window.
DRILL_LIMIT_SETTING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Drills one person may open with `@bot drill` in one project per window; default 5 per 60 minutes.",
    "properties": {
        "max_per_person": {"type": "integer", "minimum": 1, "maximum": 1000},
        "window_minutes": {"type": "number", "exclusiveMinimum": 0, "maximum": 10_080},
    },
}
_MARKER = "<!-- incident-bot:drill {name} -->"
_MARKER_RE = re.compile(r"<!-- incident-bot:drill ([a-z0-9][a-z0-9_.-]{0,63}) -->")
# Which request opened the drill (a comment's delivery id): a retried request finds its drill instead of a second.
_REQUEST = "<!-- incident-bot:drill-request {request} -->"
TITLE_PREFIX = "[DRILL] "
PREAMBLE = (
    "> **This is a drill.** Run the incident process as you would for real: acknowledge, set the severity, "
    "staff the roles, move through the phases and post status updates. Notifications go only to the "
    "training channel, the bot posts new information here as the drill unfolds, and a scorecard follows "
    "the close."
)


@dataclass(frozen=True)
class DrillIssue:
    """The issue that opens a drill: what participants see (never the expected severity or phases)."""

    title: str
    description: str
    labels: tuple[str, ...]


def drill_marker(name: str) -> str:
    """The hidden marker a drill issue's description carries: which scenario it runs."""
    return _MARKER.format(name=name)


def scenario_of(description: str | None) -> str | None:
    """The scenario named by the drill marker in an issue description, or None."""
    found = _MARKER_RE.search(description or "")
    return found.group(1) if found else None


def is_drill(labels: Iterable[str], rules: RuleSet) -> bool:
    """Whether an issue with these labels is a drill (it carries the drill label)."""
    return rules.drill_label in set(labels)


def drill_limit(rules: RuleSet) -> tuple[int, float]:
    """(drills, minutes): at most that many drills per person and project within that many minutes."""
    return rules.settings.drill_limit


def request_marker(request: str) -> str:
    """The hidden note of which request opened a drill (only characters safe inside an HTML comment)."""
    return _REQUEST.format(request=re.sub(r"[^A-Za-z0-9_.:-]", "", request)[:200])


def drill_issue(drill: Drill, rules: RuleSet, *, requested_by: str = "", request: str = "") -> DrillIssue:
    """Title, description and labels of a drill's issue: incident + drill label, its category's and area's labels.

    The severity is left for the participants to set; an area applies through its first `match.labels`
    entry (an area recognised only by paths or title terms applies when those match, as for any incident).
    """
    labels = [rules.incident_label, rules.drill_label]
    if drill.category and drill.category in rules.categories:
        labels.append(rules.categories[drill.category].label)
    area = rules.areas.get(drill.area or "")
    if area is not None and area.match.labels:
        labels.append(area.match.labels[0])
    lines = [PREAMBLE, "", drill.description.strip(), "", f"_Scenario `{drill.name}`"]
    lines[-1] += f", opened by {mention(requested_by)}._" if requested_by else "._"
    lines += ["", drill_marker(drill.name)] + ([request_marker(request)] if request else [])
    return DrillIssue(TITLE_PREFIX + drill.title, "\n".join(lines), tuple(dict.fromkeys(labels)))


def read_drills(directory: Path) -> tuple[list[Located], list[Problem]]:
    """Every `drills/*.yml` beside the rules, parsed and checked against DRILL_SCHEMA (no folder: no drills)."""
    docs, problems = read_folder(directory, DRILLS_DIR, "drill", _VALIDATOR, MAX_DRILLS, MAX_DRILL_BYTES)
    named = []
    for doc in docs:
        if _STEM.match(Path(doc.file).stem):
            named.append(doc)
        else:
            message = "a drill's name is its file name: lower-case letters, digits, `.`, `_`, `-` (64 at most)"
            problems.append(Problem(doc.file, 1, f"{Path(doc.file).stem!r}: {message}"))
    return named, problems


def build_drills(docs: list[Located], rules: RuleSet) -> tuple[dict[str, Drill], list[Problem]]:
    """The scenarios, each reference checked against the rules (unknown area, category, severity, phase)."""
    drills: dict[str, Drill] = {}
    problems: list[Problem] = []
    phases = [p.name for p in rules.phases]
    for doc in sorted(docs, key=lambda d: Path(d.file).stem):
        raw, name = doc.data["drill"], Path(doc.file).stem

        def bad(path: tuple[Any, ...], message: str, doc: Located = doc, name: str = name) -> None:
            problems.append(Problem(doc.file, doc.line(("drill", *path)), f"drill {name!r}: {message}"))

        if name in drills:
            bad((), f"already defined at {drills[name].file}:{drills[name].line}")
            continue
        area, category, severity = raw.get("area"), raw.get("category"), raw["severity"]
        if area is not None and area not in rules.areas:
            bad(("area",), f"unknown area {area!r} ({', '.join(rules.areas) or 'none defined'})")
        if category is not None and category not in rules.categories:
            bad(("category",), f"unknown category {category!r} ({', '.join(rules.categories) or 'none defined'})")
        if severity not in rules.severities:
            bad(("severity",), f"unknown severity {severity!r} ({', '.join(map(str, rules.severities))})")
        seen: set[str] = set()
        for i, expected in enumerate(raw.get("phases") or ()):
            phase = expected["phase"]
            if phase not in phases:
                bad(("phases", i, "phase"), f"unknown phase {phase!r} ({', '.join(phases) or 'none defined'})")
            elif phase in seen:
                bad(("phases", i, "phase"), f"phase {phase!r} is expected twice")
            seen.add(phase)
        drills[name] = Drill(
            name,
            raw["title"],
            raw["description"],
            area,
            category,
            int(severity),
            tuple(
                Inject(float(i["after_minutes"]), i["text"])
                for i in sorted(raw.get("injects") or (), key=lambda i: float(i["after_minutes"]))
            ),
            tuple(ExpectedPhase(p["phase"], float(p["by_minutes"])) for p in raw.get("phases") or ()),
            doc.file,
            doc.line(("drill",)),
        )
    return drills, problems
