"""Read a folder of one-item rules files (`areas/*.yml`, `drills/*.yml`): bounded, parsed, schema-checked.

Each file is a mapping with one top-level key (`area:`, `drill:`). Every mistake is a Problem with
file and line; a file with any schema problem is left out so the builder never sees a bad shape.
"""

from __future__ import annotations

from pathlib import Path

from jsonschema import Draft202012Validator

from .source import MAX_VALUES, Located, Problem, load


def read_folder(
    directory: Path, folder_name: str, key: str, validator: Draft202012Validator, max_files: int, max_bytes: int
) -> tuple[list[Located], list[Problem]]:
    """Every `<folder_name>/*.yml` beside the rules, parsed and validated (no folder: nothing, no problem)."""
    folder = directory / folder_name
    if not folder.is_dir():
        return [], []
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    if len(files) > max_files:
        return [], [Problem(str(folder), 0, f"{len(files)} {key} files; at most {max_files} are read")]
    docs, problems = [], []
    one = f"{'an' if key[0] in 'aeiou' else 'a'} {key}"
    for path in files:
        try:
            if path.stat().st_size > max_bytes:
                problems.append(Problem(str(path), 1, f"too large ({one} file may hold {max_bytes // 1024} KiB)"))
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 0, f"cannot read: {exc}"))
            continue
        doc, found = load(text, str(path), MAX_VALUES)
        problems += found
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem(str(path), 1, f"{one} file is a mapping with one key, `{key}:`"))
            continue
        schema = sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path)))
        for error in schema:
            at, message = tuple(error.absolute_path), str(error.message)[:300]
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                known = error.schema.get("properties", {})
                extra = sorted((k for k in error.instance if k not in known), key=str)
                at, message = (*at, extra[0]), f"unknown key {extra[0]!r}; expected one of: {', '.join(known)}"
            where = ".".join(str(p) for p in at) or "(top level)"
            problems.append(Problem(str(path), doc.line(at), f"{where}: {message}"))
        if not schema:
            docs.append(doc)
    return docs, problems
