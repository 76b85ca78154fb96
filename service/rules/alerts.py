"""`rules/alerts.yml`: read, checked against its schema and the rest of the rules, every mistake with file:line.

The file is optional: without it the alert endpoints refuse alerts (README: alerts). Its projects, categories,
areas and severities must be ones the rest of the rules define; regexes compile at load, anchored as
Alertmanager anchors them.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from .alertmodel import AlertRoute, AlertRules, OnResolved
from .model import RuleSet
from .source import MAX_VALUES, Located, Problem, load

ALERTS_FILES = ("alerts.yml", "alerts.yaml")
MAX_ALERTS_BYTES = 128 * 1024
MAX_ROUTES = 500
MAX_PATTERN = 500
_LABEL = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 100}
_PROJECT = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$"},
    ],
    "description": "A project path (group/project) or its numeric id.",
}
_NAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]*$"}
_ON_RESOLVED = {"enum": [o.value for o in OnResolved]}
_TARGET = {
    "project": _PROJECT,
    "category": {**_NAME, "description": "A category name; its label is set on the incident."},
    "area": {**_NAME, "description": "A functional area (rules/areas) whose first label is set."},
    "labels": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}, "maxItems": 20},
    "confidential": {"type": "boolean"},
    "on_resolved": _ON_RESOLVED,
}
_MATCHERS = {"type": "object", "propertyNames": _LABEL, "additionalProperties": {"type": "string", "maxLength": 1000}}
ALERTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "incident-bot alerts (rules/alerts.yml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["alerts"],
    "properties": {
        "alerts": {
            "type": "object",
            "additionalProperties": False,
            "required": ["default"],
            "properties": {
                "default": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["project"],
                    "properties": _TARGET,
                },
                "routes": {
                    "type": "array",
                    "maxItems": MAX_ROUTES,
                    "description": "First match wins; a route without a project opens in the default's.",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {**_TARGET, "match": _MATCHERS, "match_re": _MATCHERS},
                    },
                },
                "severity": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "label": _LABEL,
                        "map": {
                            "type": "object",
                            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 9},
                        },
                        "default": {"type": "integer", "minimum": 1, "maximum": 9},
                    },
                },
                "reopen_within_minutes": {"type": "number", "minimum": 0, "maximum": 525_600},
                "on_resolved": _ON_RESOLVED,
                "max_new_incidents_per_minute": {"type": "integer", "minimum": 1, "maximum": 10_000},
            },
        }
    },
}
_VALIDATOR = Draft202012Validator(ALERTS_SCHEMA)


def read_alerts(directory: Path) -> tuple[Located | None, list[Problem]]:
    """`alerts.yml` beside the rules, parsed and schema-checked; (None, []) when there is none."""
    path = next((directory / name for name in ALERTS_FILES if (directory / name).is_file()), None)
    if path is None:
        return None, []
    try:
        if path.stat().st_size > MAX_ALERTS_BYTES:
            return None, [Problem(str(path), 1, f"too large (alerts.yml may hold {MAX_ALERTS_BYTES // 1024} KiB)")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 0, f"cannot read: {exc}")]
    doc, problems = load(text, str(path), MAX_VALUES)
    if doc.data is None:
        return None, problems
    if not isinstance(doc.data, dict):
        return None, [*problems, Problem(str(path), 1, "alerts.yml is a mapping with one key, `alerts:`")]
    for error in sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        at, message = tuple(error.absolute_path), str(error.message)[:300]
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            extra = sorted((str(k) for k in error.instance if k not in known), key=str)
            if extra and known:
                at, message = (*at, extra[0]), f"unknown key {extra[0]!r}; expected one of: {', '.join(known)}"
        where = ".".join(str(p) for p in at) or "(top level)"
        problems.append(Problem(str(path), doc.line(at), f"{where}: {message}"))
    return (None if problems else doc), problems


def build_alerts(doc: Located | None, rules: RuleSet) -> tuple[AlertRules, list[Problem]]:
    """The typed alert rules, each reference checked against the rules (category, area, severity levels)."""
    if doc is None:
        return AlertRules(), []
    raw, problems = doc.data["alerts"], []

    def bad(path: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(doc.file, doc.line(("alerts", *path)), f"alerts: {message}"))

    default = _route(raw["default"], "default", ("default",), None, rules, bad, doc)
    routes = tuple(
        _route(r, f"routes[{i}]", ("routes", i), default.project, rules, bad, doc)
        for i, r in enumerate(raw.get("routes") or ())
    )
    severity = raw.get("severity") or {}
    levels = {str(k).strip().lower(): int(v) for k, v in (severity.get("map") or {}).items()}
    for name, level in (severity.get("map") or {}).items():
        if level not in rules.severities:
            bad(("severity", "map", name), f"severity {level} is not defined ({', '.join(map(str, rules.severities))})")
    fallback = int(severity.get("default", 3 if 3 in rules.severities else min(rules.severities, default=3)))
    if fallback not in rules.severities:
        bad(("severity", "default"), f"severity {fallback} is not defined ({', '.join(map(str, rules.severities))})")
    return AlertRules(
        default=default,
        routes=routes,
        severity_label=str(severity.get("label", "severity")),
        severity_map=MappingProxyType(levels),
        severity_default=fallback,
        reopen_within_minutes=float(raw.get("reopen_within_minutes", 60)),
        on_resolved=OnResolved(raw.get("on_resolved", OnResolved.COMMENT.value)),
        max_new_incidents_per_minute=int(raw.get("max_new_incidents_per_minute", 10)),
        file=doc.file,
    ), problems


def _route(
    raw: dict[str, Any], name: str, path: tuple[Any, ...], project: str | None, rules: RuleSet, bad: Any, doc: Located
) -> AlertRoute:
    """One route (or the default), its regexes compiled and its names checked."""
    category, area = raw.get("category"), raw.get("area")
    if category is not None and category not in rules.categories:
        bad((*path, "category"), f"unknown category {category!r} ({', '.join(rules.categories) or 'none defined'})")
    if area is not None and area not in rules.areas:
        bad((*path, "area"), f"unknown area {area!r} ({', '.join(rules.areas) or 'none defined'})")
    elif area is not None and not rules.areas[area].match.labels:
        # The incident is put in the area by its first label (`alerts.routing.labels_for`): without one, never.
        bad((*path, "area"), f"area {area!r} has no `match.labels`, so no alert incident could be in it")
    patterns = []
    for label, pattern in (raw.get("match_re") or {}).items():
        try:
            if len(pattern) > MAX_PATTERN:
                raise re.error(f"longer than {MAX_PATTERN} characters")
            patterns.append((label, re.compile(pattern)))
        except re.error as exc:
            bad((*path, "match_re", label), f"{label}: not a regular expression ({exc})")
    resolved = raw.get("on_resolved")
    return AlertRoute(
        name=name,
        project=str(raw.get("project", project or "")),
        match=MappingProxyType(dict(raw.get("match") or {})),
        match_re=tuple(patterns),
        category=category,
        area=area,
        labels=tuple(raw.get("labels") or ()),
        confidential=bool(raw.get("confidential", False)),
        on_resolved=OnResolved(resolved) if resolved else None,
        line=doc.line(("alerts", *path)),
    )
