"""Read the rules directory: file limits, YAML through the bounded composer, the JSON Schema's verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .alerts import ALERTS_FILES
from .schema import RULES_SCHEMA
from .source import MAX_VALUES, Located, Problem, load

_VALIDATOR = Draft202012Validator(RULES_SCHEMA)
# Bounds that keep `check-rules`, a worker's start and every reload under ~2 s whatever the files
# hold (the YAML ones are in source, the template ones in sandbox). The shipped rules use ~14 KB
# in 10 files and 30 rules; 2,000 rules of the benchmark's kind load in about a second.
MAX_FILES = 200
MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 1024 * 1024


def _schema_problems(doc: Located) -> list[Problem]:
    problems = []
    for error in sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        rule = _rule_name(doc, path)
        message = _explain(error)
        where = ".".join(str(p) for p in path) or "(top level)"
        problems.append(Problem(doc.file, doc.line(path), f"{where}: {message}", rule))
    return problems


def _explain(error: Any) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key(s) {', '.join(map(repr, extra))}; expected one of: {known}"
    if error.validator in ("maxProperties", "minProperties") and isinstance(error.instance, dict):
        return "each action is a mapping with exactly one key, e.g. `- set_severity: 3`"
    if error.validator == "anyOf":
        return f"{error.instance!r} is not valid here"
    message = str(error.message)  # it quotes the offending value, which may be 200,000 items long
    return message if len(message) <= 300 else message[:300] + "..."


def _rule_name(doc: Located, path: tuple[Any, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
        if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], dict):
            name = rules[path[1]].get("name")
            return str(name) if name else f"#{path[1] + 1}"
    return None


def read_dir(directory: Path) -> tuple[list[Located], list[Problem]]:
    if not directory.is_dir():
        return [], [Problem(str(directory), 0, "rules directory not found")]
    # alerts.yml has a schema of its own (rules/alerts.py), read beside the process files.
    files = sorted(p for p in [*directory.glob("*.yml"), *directory.glob("*.yaml")] if p.name not in ALERTS_FILES)
    if not files:
        return [], [Problem(str(directory), 0, "no .yml files in the rules directory")]
    if len(files) > MAX_FILES:
        return [], [Problem(str(directory), 0, f"{len(files)} rules files; at most {MAX_FILES} are read")]
    docs, problems, total, values = [], [], 0, 0
    for path in files:
        try:
            size = path.stat().st_size
            total += size
            if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                # Refused before parsing: a 5 MB file used to take 52 s and 672 MB to load.
                what = (
                    f"{size:,} bytes" if size > MAX_FILE_BYTES else f"the rules files together exceed {total:,} bytes"
                )
                limits = f"a file may hold {MAX_FILE_BYTES // 1024} KiB, all files {MAX_TOTAL_BYTES // 1024} KiB"
                problems.append(Problem(str(path), 1, f"too large ({what}; {limits})"))
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 0, f"cannot read: {exc}"))
            continue
        doc, found = load(text, str(path), MAX_VALUES - values)
        values += doc.values
        problems += found
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem(str(path), 1, "a rules file is a mapping of sections (rules:, roles:, ...)"))
            continue
        schema_problems = _schema_problems(doc)
        problems += schema_problems
        docs.append(doc)
    return docs, problems


def fingerprint(directory: Path | str) -> tuple[tuple[str, int, int], ...]:
    """What changes when a rules file is added, removed or edited (names, sizes, modification times)."""
    folder = Path(directory)
    try:
        patterns = ("*.yml", "*.yaml", "areas/*.y*ml", "drills/*.y*ml")
        files = sorted(p for pattern in patterns for p in folder.glob(pattern))
        return tuple((str(p.relative_to(folder)), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    except OSError:
        return ()
