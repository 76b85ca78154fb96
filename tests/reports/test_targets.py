"""Targets per severity come from the rules (`targets:` of each severity) and are validated with the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import shipped_rules_dir
from service.reports.targets import targets_from_rules
from service.rules import RulesError, load_rules


def test_the_shipped_rules_set_targets_for_every_severity() -> None:
    """Severity 1 is acknowledged within 15 minutes, mitigated within 4 hours, resolved within a day."""
    targets = targets_from_rules(load_rules(shipped_rules_dir()))
    assert set(targets) == {1, 2, 3, 4}
    assert targets[1] == {"acknowledge_minutes": 15.0, "mitigate_minutes": 240.0, "resolve_minutes": 1440.0}


@pytest.mark.parametrize(
    ("targets", "words"),
    [("{acknowledge_minutes: -5}", "acknowledge_minutes"), ("{respond_minutes: 5}", "respond_minutes")],
)
def test_a_bad_target_is_refused_with_file_and_line(tmp_path: Path, targets: str, words: str) -> None:
    """A negative target or an unknown name: the rules are refused, naming the file, the line and the key."""
    for source in shipped_rules_dir().glob("*.yml"):
        (tmp_path / source.name).write_text(source.read_text())
    settings = tmp_path / "settings.yml"
    lines = settings.read_text().splitlines()
    line = next(i for i, t in enumerate(lines) if t.startswith("    targets:"))
    lines[line] = f"    targets: {targets}"
    settings.write_text("\n".join(lines) + "\n")
    with pytest.raises(RulesError) as error:
        load_rules(tmp_path)
    report = error.value.report()
    assert f"settings.yml:{line + 1}" in report and words in report
