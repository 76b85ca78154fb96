"""Rules files written for a test: the smallest valid rules, and a folder of YAML files."""

from __future__ import annotations

from pathlib import Path

MINIMAL = """\
severities:
  3: {label: "severity::3", name: medium}
phases:
  - {name: identification, label: "incident::identification"}
roles:
  eoc: {title: EOC, rotation: eoc}
rotations:
  eoc: {members: [carol]}
templates:
  hello: "Hello {{ incident.title }}"
"""


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yml").write_text(text)
    return tmp_path
