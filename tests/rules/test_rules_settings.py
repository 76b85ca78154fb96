"""The rules' settings: one typed object, its defaults as docs/rules.md says and a rules dir without them gets."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
import yaml

from service.rules import RulesError, load_rules
from service.rules.settings import DigestSettings, ProcessSettings, SuspectSettings
from service.worker.executor import note_body
from tests.planning import plan_for
from tests.rulesdir import ROOT, TEST_RULES

# What a rules dir without a `settings:` section gets, as docs/rules.md documents it.
DEFAULTS = {
    "incident_label": "incident",
    "procedure_url": "",
    "handbook_url": "",
    "documentation": "In the incident issue.",
    "native_severity_sync": True,
    "review_labels": (),
    "reminder_limit": 48,
    "command_min_access": 30,
    "broadcast_channels": ("responders",),
    "drill_label": "drill",
    "training_channel": "training",
    "drill_limit": (5, 60.0),
    "digest": DigestSettings(cron="0 8 * * 1", channels=("executives",), project=None, labels=("incident-digest",)),
    "suspects": SuspectSettings(window_hours=24.0, environments=(), limit=5),
}


def without_settings(tmp_path: Path) -> Path:
    """The shipped rules (test people) with settings.yml's `settings:` section taken out."""
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    doc = yaml.safe_load((folder / "settings.yml").read_text())
    del doc["settings"]
    (folder / "settings.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def test_a_rules_dir_without_settings_gets_each_documented_default(tmp_path: Path) -> None:
    """No `settings:` at all: every setting is its default, and the declaration comment says where to document."""
    rules = load_rules(without_settings(tmp_path))
    assert {name: getattr(rules.settings, name) for name in DEFAULTS} == DEFAULTS
    body = note_body(plan_for(rules, "issue.open.incident"))
    assert "**Where to document:** In the incident issue." in body


def test_the_shipped_settings_are_read_into_the_object() -> None:
    """The shipped settings.yml's values, typed (lists as tuples), not the defaults."""
    settings = load_rules(TEST_RULES).settings
    assert settings.documentation.startswith("Document in this issue:")
    assert settings.review_labels == ("post-incident-review",)
    assert settings.broadcast_channels == ("responders",)
    assert dataclasses.is_dataclass(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, "review_labels", ())  # noqa: B010 - the attribute a frozen dataclass refuses


def test_docs_state_the_defaults_the_object_has() -> None:
    """docs/rules.md's settings row: each `name` (default `value`) is the dataclass default, and none is missing."""
    lines = (ROOT / "docs" / "rules.md").read_text().splitlines()
    row = next(line for line in lines if line.startswith("| `settings`"))
    documented = {name: yaml.safe_load(value) for name, value in re.findall(r"`(\w+)` \(default `([^`]*)`", row)}
    defaults = ProcessSettings()
    stated = {
        f.name: getattr(defaults, f.name)
        for f in dataclasses.fields(ProcessSettings)
        if f.name not in ("incident_label_color", "incident_label_description", "procedure_url", "handbook_url")
        and f.name not in ("review_labels", "drill_limit", "digest", "suspects", "followups")  # in words, or own table
    }
    assert documented == {k: list(v) if isinstance(v, tuple) else v for k, v in stated.items()}


def test_docs_state_the_suspects_defaults_the_object_has() -> None:
    """docs/rules.md's Suspects table: each `suspects.<name>` default is SuspectSettings' own."""
    lines = (ROOT / "docs" / "rules.md").read_text().splitlines()
    rows = {m.group(1): m.group(2) for line in lines if (m := re.match(r"\| `suspects\.(\w+)` \|.*\| (.+) \|$", line))}
    defaults = SuspectSettings()
    assert rows == {"window_hours": "`24`", "environments": "none", "limit": "`5`", "comment_on_cause": "`true`"}
    assert (defaults.window_hours, defaults.environments, defaults.limit) == (24.0, (), 5)
    assert defaults.comment_on_cause is True


def test_suspects_settings_are_read_and_checked(tmp_path: Path) -> None:
    """`settings.suspects` is read into SuspectSettings; a window of 0 hours is refused at its file and line."""
    folder = without_settings(tmp_path)
    (folder / "suspects.yml").write_text("settings:\n  suspects:\n    window_hours: 6\n    environments: [live-eu]\n")
    suspects = load_rules(folder).settings.suspects
    assert suspects == SuspectSettings(window_hours=6.0, environments=("live-eu",), limit=5)
    (folder / "suspects.yml").write_text("settings:\n  suspects:\n    window_hours: 0\n")
    with pytest.raises(RulesError) as failed:
        load_rules(folder)
    assert "suspects.yml:3" in failed.value.report()
