"""Loading rules: each kind of mistake gives its message with file, line and rule; the lot is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from service.rules import RulesError, load_rules
from service.rules.schema import RULES_SCHEMA
from tests.conftest import ROOT
from tests.rules.helpers import MINIMAL, write
from tests.rulesdir import TEST_RULES


def problems(tmp_path: Path, rules: str, **extra: str) -> list[str]:
    write(tmp_path, base=MINIMAL, rules=rules, **extra)
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path)
    return [str(p) for p in info.value.problems]


def test_shipped_rules_load() -> None:
    """The shipped rules are valid and complete."""
    rules = load_rules(ROOT / "rules")
    assert len(rules.rules) >= 20 and set(rules.severities) == {1, 2, 3, 4}
    assert [p.name for p in rules.phases] == ["identification", "mitigation", "remediation", "post-incident"]


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    """Broken YAML names the file and line."""
    found = problems(tmp_path, "rules:\n  - name: x\n    then: [\n")
    assert any(p.startswith(f"{tmp_path}/rules.yml:") and "YAML syntax" in p for p in found)


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    """A key written twice is a mistake, not a silent override."""
    found = problems(
        tmp_path, "rules:\n  - name: x\n    when: {}\n    when: {severity: 3}\n    then: [{set_severity: 3}]\n"
    )
    assert f"{tmp_path}/rules.yml:4: duplicate key 'when'" in found


def test_unknown_condition_names_rule_and_line(tmp_path: Path) -> None:
    """A misspelt condition points at its rule and line, listing the known ones."""
    found = problems(tmp_path, "rules:\n  - name: typo\n    when: {severty: 3}\n    then: [{set_severity: 3}]\n")
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path}/rules.yml:3: rule 'typo': rules.0.when: unknown key(s) 'severty'")


def test_unknown_action(tmp_path: Path) -> None:
    """An action outside the closed set is refused."""
    found = problems(tmp_path, "rules:\n  - name: a\n    then:\n      - run_shell: rm -rf /\n")
    assert any("rule 'a'" in p and ":4:" in p and "run_shell" in p for p in found)


def test_two_keys_in_one_action(tmp_path: Path) -> None:
    """Each action item has exactly one key."""
    found = problems(tmp_path, "rules:\n  - name: b\n    then:\n      - {set_severity: 3, set_phase: identification}\n")
    assert any("exactly one key" in p and "rule 'b'" in p for p in found)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("then: [{set_severity: 7}]", "unknown severity 7"),
        ("then: [{set_phase: triage}]", "unknown phase 'triage'"),
        ("then: [{staff: cmoc}]", "unknown role(s) ['cmoc']"),
        ("then: [{post: goodbye}]", "unknown template 'goodbye'"),
        ("then: [{notify: pager}]", "unknown channel 'pager'"),
        ("then: [{set_category: security}]", "unknown category 'security'"),
        ("when: {phase: triage}\n    then: [{set_severity: 3}]", "unknown phase 'triage'"),
        ("when: {text_matches: '(unclosed'}\n    then: [{set_severity: 3}]", "invalid regular expression"),
        ("then: [{comment: '{% if %}'}]", "template error"),
    ],
)
def test_bad_references(tmp_path: Path, rule: str, message: str) -> None:
    """A rule pointing at something not declared is refused with the rule's name and line."""
    found = problems(tmp_path, f"rules:\n  - name: ref\n    {rule}\n")
    assert any(message in p and "rule 'ref'" in p and f"{tmp_path}/rules.yml:3" in p for p in found), found


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    """Three mistakes in two files: three problems in one report."""
    found = problems(
        tmp_path,
        "rules:\n  - name: one\n    then: [{set_phase: nope}]\n  - name: two\n    then: [{staff: nobody}]\n",
        more="rules:\n  - name: three\n    when: {severity: 9}\n    then: [{set_severity: 3}]\n",
    )
    assert len(found) == 3
    assert {p.split("rule ")[1].split(":")[0] for p in found} == {"'one'", "'two'", "'three'"}


def test_duplicate_rule_names_across_files(tmp_path: Path) -> None:
    """Two files defining the same rule name: the second is refused, naming the first."""
    rule = "rules:\n  - name: same\n    then: [{set_severity: 3}]\n"
    found = problems(tmp_path, rule, other=rule)
    assert any("rule 'same' is already defined at" in p for p in found)


def test_unknown_rotation_for_role(tmp_path: Path) -> None:
    """A role staffed from a rotation that does not exist."""
    found = problems(tmp_path, "roles:\n  im: {title: IM, rotation: managers}\n")
    assert any("unknown rotation 'managers'" in p and "rules.yml:2" in p for p in found)


def test_invalid_rule_set_is_refused_as_a_whole(tmp_path: Path) -> None:
    """One bad rule means no rules at all, not the good ones."""
    write(
        tmp_path,
        base=MINIMAL,
        good="rules:\n  - name: ok\n    then: [{set_severity: 3}]\n",
        bad="rules:\n  - name: bad\n    then: [{set_severity: 8}]\n",
    )
    with pytest.raises(RulesError):
        load_rules(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    """A wrong INCIDENT_BOT_RULES path is a clear error."""
    with pytest.raises(RulesError, match="problem"):
        load_rules(tmp_path / "absent")


def test_check_rules_command(tmp_path: Path) -> None:
    """`incident-bot check-rules`: exit 0 with a one-line summary, exit 1 listing every error."""
    ok = subprocess.run(
        [sys.executable, "-m", "service.cli", "check-rules", str(ROOT / "rules")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("rules OK: ") and ok.stdout.count("\n") == 1
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "broken.yml").write_text("rules:\n  - name: x\n    then: [{set_phase: nope}]\n")
    bad = subprocess.run(
        [sys.executable, "-m", "service.cli", "check-rules", str(tmp_path / "rules")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 1
    assert "invalid rules: 1 error" in bad.stderr and "broken.yml:3: rule 'x'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_check_rules_flags_the_shipped_placeholders() -> None:
    """The shipped rotations name no one: check-rules warns once per rotation (file:line) and still exits 0."""
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "check-rules", str(ROOT / "rules")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    warnings = [line for line in out.stderr.splitlines() if "placeholder" in line]
    assert out.returncode == 0 and len(warnings) == 5, out.stderr
    roles = (ROOT / "rules" / "roles.yml").read_text().splitlines()
    for line in warnings:
        where, _, rest = line.partition(": warning: ")
        file, _, number = where.rpartition(":")
        assert file.endswith("roles.yml") and "REPLACE-ME-" in roles[int(number) - 1], line
        assert "replace them with your people's GitLab usernames" in rest
    staffed = subprocess.run(
        [sys.executable, "-m", "service.cli", "check-rules", str(TEST_RULES)], capture_output=True, text=True, cwd=ROOT
    )
    assert staffed.returncode == 0 and "placeholder" not in staffed.stderr


def test_schema_command_validates_shipped_rules() -> None:
    """`incident-bot schema` prints a JSON Schema that the shipped files satisfy and mistakes fail."""
    out = subprocess.run([sys.executable, "-m", "service.cli", "schema"], capture_output=True, text=True, cwd=ROOT)
    schema = json.loads(out.stdout)
    assert schema == json.loads(json.dumps(RULES_SCHEMA))
    command = [sys.executable, "-m", "service.cli", "schema", "--alerts"]
    alerts = json.loads(subprocess.run(command, capture_output=True, cwd=ROOT).stdout)
    for path in (ROOT / "rules").glob("*.yml"):  # alerts.yml has a schema of its own (`schema --alerts`)
        jsonschema.validate(yaml.safe_load(path.read_text()), alerts if path.name == "alerts.yml" else schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": [{"name": "x", "then": [{"explode": True}]}]}, schema)


def test_service_refuses_to_start_with_invalid_rules(tmp_path: Path) -> None:
    """`incident-bot web` with an invalid rules directory exits 2 (configuration) with the report, no traceback."""
    write(tmp_path, bad="rules:\n  - name: x\n    then: [{set_severity: 3}]\n")
    env = {"INCIDENT_BOT_RULES": str(tmp_path), "PATH": "/usr/bin:/bin", "GITLAB_WEBHOOK_SECRET": "s3cret"}
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "web", "--bind", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2 and "invalid rules" in proc.stderr and "Traceback" not in proc.stderr
