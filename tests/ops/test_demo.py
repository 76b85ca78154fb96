"""`serve --demo`'s incidents: a realistic handful in the trial's index, written once, shown by `report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from service.ops.demo import seed
from service.rules import load_rules
from tests.rulesdir import ROOT


def test_the_demo_shows_every_severity_a_resolved_and_a_confidential_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Six incidents over four severities, several phases and categories; a second seed adds nothing."""
    url = f"sqlite:///{tmp_path / 'trial.sqlite3'}"
    rules = load_rules(ROOT / "rules")
    assert seed(url, rules) == 6 and seed(url, rules) == 0
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", url)
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(ROOT / "rules"))
    assert main(["report", "--since", "30d", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["incidents"] == 6 and report["open"] == 4 and set(report["groups"]) == {"1", "2", "3", "4"}
    assert main(["report", "--since", "30d"]) == 0
    text = capsys.readouterr().out
    assert "confidential incident" in text and "Leaked deploy token" not in text  # the title stays hidden
    assert "| mitigation |" in text and "| remediation |" in text and "| identification |" in text
