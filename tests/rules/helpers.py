"""Rules files written for a test: the smallest valid rules, and a folder of YAML files."""

from __future__ import annotations

import shutil
from pathlib import Path

from service.config import shipped_rules_dir

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


def rules_with_area_projects(tmp_path: Path, projects: str) -> Path:
    """A copy of the shipped rules whose `reliability` area has `projects: <projects>`."""
    folder = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), folder)
    area = folder / "areas" / "reliability.yml"
    area.write_text(area.read_text().replace("  match:\n", f"  projects: {projects}\n  match:\n", 1))
    return folder


def rules_with_area_code_paths(tmp_path: Path, code_paths: str, area: str = "reliability") -> Path:
    """A copy of the shipped rules whose `area` area has `code_paths: <code_paths>` (on line 7 of its file)."""
    folder = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), folder)
    path = folder / "areas" / f"{area}.yml"
    path.write_text(path.read_text().replace("  match:\n", f"  code_paths: {code_paths}\n  match:\n", 1))
    return folder
