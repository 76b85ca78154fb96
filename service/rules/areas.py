"""Functional areas (`rules/areas/*.yml`): read, validated against their schema, and cross-checked with the rules.

One file per area. Every mistake is reported with file and line, and an area may name only the
roles, phases, channels, categories and severities the rest of the rules define. An area's `projects:`
names the projects (or groups) that share their past incidents as similar incidents (`sharing`); its `code_paths:`
the paths in a repository whose change makes a suspect merge request's reason name the area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from .folder import read_folder
from .model import Area, AreaMatch, RuleSet
from .source import Located, Problem

AREAS_DIR = "areas"
MAX_AREAS = 50
MAX_AREA_BYTES = 64 * 1024
_NAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$"}
_TEXTS = {"type": "array", "items": {"type": "string", "minLength": 1}}
# A GitLab project or group path: segments of letters, digits, `_`, `.`, `-`, not starting with `.`/`-` nor ending `.`.
_PATH = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?(?:/[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)*")
# A path in a repository: relative, segments of letters, digits, `_`, `.`, `-` (no `.` or `..` segment), at most 255.
_CODE_PATH = re.compile(r"(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?")
AREA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "incident-bot functional area",
    "type": "object",
    "additionalProperties": False,
    "required": ["area"],
    "properties": {
        "area": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "title"],
            "properties": {
                "name": _NAME,
                "title": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "match": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "Any one of these makes an incident the area's.",
                    "properties": {
                        "categories": {"type": "array", "items": _NAME},
                        "labels": _TEXTS,
                        "paths": _TEXTS,
                        "title_terms": _TEXTS,
                    },
                },
                "checklists": {
                    "type": "object",
                    "description": "Extra checklist items, by phase name.",
                    "additionalProperties": _TEXTS,
                },
                "roles": {"type": "array", "items": _NAME, "description": "Roles staffed when the area applies."},
                "channels": {"type": "array", "items": _NAME, "description": "Told what the broadcast channels are."},
                "severity_examples": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[1-9]$"},
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
                "handoff": _TEXTS,
                "reporting": _TEXTS,
                "projects": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Projects or groups whose incidents are offered to each other as similar ones.",
                },
                "code_paths": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Paths in a repository (`app/payments/`: a directory and what is under it; else "
                    "a file) whose change makes a suspect merge request's reason name the area.",
                },
            },
        }
    },
}
_VALIDATOR = Draft202012Validator(AREA_SCHEMA)


def read_areas(directory: Path) -> tuple[list[Located], list[Problem]]:
    """Every `areas/*.yml` beside the rules, parsed and checked against AREA_SCHEMA (no folder: no areas)."""
    return read_folder(directory, AREAS_DIR, "area", _VALIDATOR, MAX_AREAS, MAX_AREA_BYTES)


def build_areas(docs: list[Located], rules: RuleSet) -> tuple[dict[str, Area], list[Problem]]:
    """The areas, each reference checked against the rules (unknown role, phase, channel, category, severity)."""
    areas: dict[str, Area] = {}
    problems: list[Problem] = []
    known = {
        "roles": set(rules.roles),
        "channels": set(rules.channels),
        "checklists": {p.name for p in rules.phases},
        "severity_examples": {str(level) for level in rules.severities},
    }
    what = {"roles": "role", "channels": "channel", "checklists": "phase", "severity_examples": "severity"}
    for doc in docs:
        raw = doc.data["area"]
        name = raw["name"]

        def bad(path: tuple[Any, ...], message: str, doc: Located = doc, name: str = name) -> None:
            problems.append(Problem(doc.file, doc.line(("area", *path)), f"area {name!r}: {message}"))

        if name in areas:
            bad(("name",), f"already defined at {areas[name].file}:{areas[name].line}")
            continue
        for key, kind in what.items():
            values = raw.get(key) or ()
            for i, value in enumerate(values):
                if str(value) not in known[key]:
                    choices = ", ".join(sorted(known[key])) or "none defined"
                    bad((key, value if isinstance(values, dict) else i), f"unknown {kind} {value!r} ({choices})")
        _check_paths(raw, bad)
        match = raw.get("match") or {}
        for i, category in enumerate(match.get("categories", ())):
            if category not in rules.categories:
                bad(("match", "categories", i), f"unknown category {category!r} ({', '.join(rules.categories)})")
        areas[name] = Area(
            name,
            raw["title"],
            doc.file,
            doc.line(("area",)),
            raw.get("description", ""),
            AreaMatch(
                tuple(match.get("categories", ())),
                tuple(match.get("labels", ())),
                tuple(p.strip("/") for p in match.get("paths", ())),
                tuple(match.get("title_terms", ())),
            ),
            MappingProxyType({k: tuple(v) for k, v in (raw.get("checklists") or {}).items()}),
            tuple(raw.get("roles", ())),
            tuple(raw.get("channels", ())),
            MappingProxyType({int(k): v for k, v in (raw.get("severity_examples") or {}).items()}),
            tuple(raw.get("handoff", ())),
            tuple(raw.get("reporting", ())),
            tuple(dict.fromkeys(raw.get("projects", ()))),
            tuple(dict.fromkeys(raw.get("code_paths", ()))),
        )
    return areas, problems


def _check_paths(raw: dict[str, Any], bad: Any) -> None:
    """An area's `projects:` (GitLab project or group paths) and `code_paths:` (paths in a repository)."""
    for i, path in enumerate(raw.get("projects", ())):
        if not _PATH.fullmatch(path):
            bad(("projects", i), f"projects: {path!r} is not a project or group path (such as `acme/app` or `acme`)")
    for i, code_path in enumerate(raw.get("code_paths", ())):
        if not code_path_ok(code_path):
            bad(("code_paths", i), f"code_paths: {code_path!r} is not a path in a repository (such as `app/payments/`)")


def code_path_ok(path: str) -> bool:
    """Whether `path` may be an area's `code_paths` entry: `_CODE_PATH`, at most 255 characters."""
    return len(path) <= 255 and bool(_CODE_PATH.fullmatch(path))


def _covers(path: str, project_path: str) -> bool:
    """Whether `path` (a project or a group) is `project_path` or one of its groups (case-insensitive, as GitLab)."""
    path, project_path = path.lower(), project_path.lower()
    return project_path == path or project_path.startswith(path + "/")


def sharing(rules: RuleSet, project_path: str, areas: Iterable[str] = ()) -> tuple[str, ...]:
    """The project and group paths whose incidents (changes) an incident of `project_path` may be offered as similar
    ones (as suspects).

    Those of every area whose `projects:` covers `project_path`, and those of the areas named in `areas`: only ever
    admin configuration (an alert incident's route's `area:`), never an area a label or title people set puts an
    incident in (that would open another, possibly private, project's changes); none (its own project only) otherwise.
    """
    named = set(areas)
    found = [
        p
        for area in rules.areas.values()
        if area.name in named or (project_path and any(_covers(p, project_path) for p in area.projects))
        for p in area.projects
    ]
    return tuple(dict.fromkeys(found))
