"""Drill scenarios (rules/drills/*.yml): the shipped ones load, every mistake is a file:line error, the marker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.cli import main
from service.rules import RulesError, RuleSet, load_rules
from service.rules.drills import drill_marker, is_drill, scenario_of
from service.rules.model import Drill, ExpectedPhase, Inject
from tests.rulesdir import TEST_RULES


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(TEST_RULES, target)
    return target


def load_with(tmp_path: Path, name: str, text: str) -> list[str]:
    """The problems loading the shipped rules with one drill file added (none: the drill loaded)."""
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "drills" / name).write_text(text, encoding="utf-8")
    try:
        load_rules(rules_dir)
    except RulesError as exc:
        return [str(p).replace(f"{rules_dir}/", "") for p in exc.problems]
    return []


GOOD = """\
drill:
  title: Cache cluster lost
  description: The cache is gone.
  area: reliability
  category: availability
  severity: 2
  injects:
    - after_minutes: 10
      text: Second inject
    - after_minutes: 0.5
      text: First inject
  phases:
    - phase: mitigation
      by_minutes: 30
"""


def test_shipped_drills_load_with_injects_and_expected_phases(rules: RuleSet) -> None:
    """The three shipped scenarios: each with 3+ injects in time order and expected phases the rules know."""
    assert {"database-outage", "leaked-credential", "third-party-degraded"} <= set(rules.drills)
    for drill in rules.drills.values():
        assert len(drill.injects) >= 3 and drill.phases and drill.severity in rules.severities
        times = [i.after_minutes for i in drill.injects]
        assert times == sorted(times)
        assert all(rules.phase(p.phase) for p in drill.phases)
        assert drill.area in rules.areas and drill.category in rules.categories
        assert drill.file.endswith(f"drills/{drill.name}.yml") and drill.line == 4 or drill.line > 0


def test_a_good_drill_file_is_read_into_the_model(tmp_path: Path) -> None:
    """Name from the file stem, injects sorted by time, minutes as floats."""
    rules_dir = copy_rules(tmp_path)
    (rules_dir / "drills" / "cache-lost.yml").write_text(GOOD)
    drill = load_rules(rules_dir).drills["cache-lost"]
    assert drill == Drill(
        "cache-lost",
        "Cache cluster lost",
        "The cache is gone.",
        "reliability",
        "availability",
        2,
        (Inject(0.5, "First inject"), Inject(10.0, "Second inject")),
        (ExpectedPhase("mitigation", 30.0),),
        str(rules_dir / "drills" / "cache-lost.yml"),
        2,
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("area: reliability", "area: payments", "drills/x.yml:4: drill 'x': unknown area 'payments' (development, "),
        ("category: availability", "category: money", "drills/x.yml:5: drill 'x': unknown category 'money' ("),
        ("severity: 2", "severity: 7", "drills/x.yml:6: drill 'x': unknown severity 7 (1, 2, 3, 4)"),
        ("phase: mitigation", "phase: settlement", "drills/x.yml:13: drill 'x': unknown phase 'settlement' ("),
        ("after_minutes: 10", "after_minutes: -5", "drills/x.yml:8: drill.injects.0.after_minutes: -5 is less than"),
        ("after_minutes: 10", "after_minutes: soon", "drills/x.yml:8: drill.injects.0.after_minutes: 'soon' is not"),
        ("after_minutes: 10", "after_minutes: true", "drills/x.yml:8: drill.injects.0.after_minutes: True is not"),
        ("by_minutes: 30", "by_minutes: -1", "drills/x.yml:14: drill.phases.0.by_minutes: -1 is less than"),
        ("  severity: 2", "  severty: 2", "drills/x.yml:6: drill.severty: unknown key 'severty'; expected one of"),
        ("text: First inject", "txt: First inject", "drills/x.yml:11: drill.injects.1.txt: unknown key 'txt'"),
        ("title: Cache cluster lost", "title: [unclosed", "drills/x.yml:"),
        ("title: Cache cluster lost", "title: a\n  title: b", "drills/x.yml:3: duplicate key 'title'"),
    ],
)
def test_a_bad_drill_file_gives_a_file_line_error(tmp_path: Path, old: str, new: str, expected: str) -> None:
    """Each kind of mistake in a scenario is one problem at its file and line, and the lot is refused."""
    found = load_with(tmp_path, "x.yml", GOOD.replace(old, new, 1))
    assert found and found[0].startswith(expected), found


def test_bad_drill_names_and_shapes(tmp_path: Path) -> None:
    """A file name that cannot be a command argument, a file that is not a mapping, a phase expected twice."""
    assert load_with(tmp_path / "a", "Bad Name.yml", GOOD) == [
        "drills/Bad Name.yml:1: 'Bad Name': a drill's name is its file name: lower-case letters, digits, `.`, `_`, "
        "`-` (64 at most)"
    ]
    assert load_with(tmp_path / "b", "x.yml", "- a list\n") == [
        "drills/x.yml:1: a drill file is a mapping with one key, `drill:`"
    ]
    twice = GOOD + "    - phase: mitigation\n      by_minutes: 40\n"
    assert load_with(tmp_path / "c", "x.yml", twice) == [
        "drills/x.yml:15: drill 'x': phase 'mitigation' is expected twice"
    ]
    missing = "drill:\n  title: T\n  severity: 1\n"
    assert load_with(tmp_path / "d", "x.yml", missing) == [
        "drills/x.yml:2: drill: 'description' is a required property"
    ]


def test_check_rules_validates_drills(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check-rules` counts the drills, and exits 1 with the file:line error for a bad one."""
    rules_dir = copy_rules(tmp_path)
    assert main(["check-rules", str(rules_dir)]) == 0
    assert "3 drills" in capsys.readouterr().out
    (rules_dir / "drills" / "x.yml").write_text(GOOD.replace("severity: 2", "severity: 8"))
    assert main(["check-rules", str(rules_dir)]) == 1
    assert f"{rules_dir}/drills/x.yml:6: drill 'x': unknown severity 8" in capsys.readouterr().err


def test_training_settings_and_role_requirement(tmp_path: Path, rules: RuleSet) -> None:
    """drill_label and training_channel default and load; an undeclared training_channel set explicitly is refused."""
    assert rules.drill_label == "drill" and rules.training_channel == "training" and "training" in rules.channels
    assert rules.roles["incident-manager"].require_training_days == 90
    assert rules.roles["eoc"].require_training_days is None
    rules_dir = copy_rules(tmp_path)
    settings = rules_dir / "settings.yml"
    settings.write_text(
        settings.read_text().replace("  reminder_limit:", "  training_channel: drills\n  reminder_limit:")
    )
    with pytest.raises(RulesError) as caught:
        load_rules(rules_dir)
    assert "training_channel: unknown channel 'drills' (declare it under channels:)" in caught.value.report()
    roles = rules_dir / "roles.yml"
    settings.write_text(settings.read_text().replace("  training_channel: drills\n", "  drill_label: practice\n"))
    roles.write_text(roles.read_text().replace("require_training_days: 90", "require_training_days: -3"))
    with pytest.raises(RulesError) as caught:
        load_rules(rules_dir)
    assert "roles.incident-manager.require_training_days: -3 is less than the minimum of 1" in caught.value.report()
    roles.write_text(roles.read_text().replace("require_training_days: -3", "require_training_days: 30"))
    reloaded = load_rules(rules_dir)
    assert reloaded.drill_label == "practice" and reloaded.roles["incident-manager"].require_training_days == 30


def test_marker_round_trip_and_is_drill(rules: RuleSet) -> None:
    """The marker names the scenario; absent or malformed markers read as None; is_drill reads the drill label."""
    description = f"Something happened.\n\n{drill_marker('database-outage')}\n"
    assert scenario_of(description) == "database-outage"
    assert scenario_of(None) is None and scenario_of("no marker") is None
    assert scenario_of("<!-- incident-bot:drill ../../etc -->") is None
    assert is_drill(["incident", "drill"], rules) and not is_drill(["incident"], rules)
