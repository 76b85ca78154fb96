"""Functional areas (rules/areas/*.yml): recognised, merged into the plan once each, validated with file:line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.cli import main
from service.config import shipped_rules_dir
from service.knowledge.handbook import build
from service.plan import Assign, Notify, Plan, Remember
from service.rules import RulesError, RuleSet, load_rules
from service.worker.executor import note_body
from tests.conftest import payload
from tests.planning import plan_for


def notified(plan: Plan) -> list[tuple[str, str]]:
    return [(n.channel, n.message) for n in plan.of(Notify)]


def remembered(plan: Plan, key: str) -> object:
    return next((a.value for a in plan.actions if isinstance(a, Remember) and a.key == key), None)


def test_security_incident_gets_sirt_items_and_channel(rules: RuleSet) -> None:
    """A leaked credential is SIRT's: the area is named, its checklist items and channel join, SIRT is staffed."""
    plan = plan_for(rules, "issue.open.incident", title="Leaked credential in the CI logs")
    body = note_body(plan)
    assert "**Functional area: Security (SIRT)** applies (category `security`)" in body
    for item in rules.areas["security"].checklists["identification"]:
        assert f"- [ ] {item}" in body
    assert ("sirt", "declared") in notified(plan) and ("responders", "declared") in notified(plan)
    sirt = rules.rotations["sirt"].on_call(plan_now())
    assert any(sirt in a.usernames for a in plan.of(Assign))
    assert remembered(plan, "areas") == ["security"]


def plan_now():
    """The planner's clock in these tests (tests.conftest.NOW)."""
    from tests.conftest import NOW  # the shared clock, named where it is used

    return NOW


def test_incident_of_two_areas_gets_both_once_each(rules: RuleSet) -> None:
    """A phishing mail reported by customers is SIRT's and Support's: both named, items and channels once each."""
    plan = plan_for(rules, "issue.open.incident", title="Phishing mail reported by customers")
    body = note_body(plan)
    assert body.count("**Functional area:") == 2
    assert "Security (SIRT)** applies" in body and "Support** applies (title term “customers”)" in body
    for area in ("security", "support"):
        for item in rules.areas[area].checklists["identification"]:
            assert body.count(f"- [ ] {item}") == 1
    assert notified(plan).count(("sirt", "declared")) == 1 and notified(plan).count(("support", "declared")) == 1
    assert remembered(plan, "areas") == ["security", "support"]
    # The next delivery (a comment) does not announce them again, and the channels still hear the broadcasts.
    memory = {"declared": True, "severity": 3, "phase": "identification", "category": "security"}
    memory["areas"] = ["security", "support"]
    labels = ["incident", "severity::3", "incident::identification", "incident-category::security"]
    again = plan_for(rules, "issue.update.severity", labels=[*labels[:1], "severity::1", *labels[2:]], memory=memory)
    assert "Functional area" not in note_body(again)
    assert {("sirt", "escalated"), ("support", "escalated")} <= set(notified(again))


def test_an_item_two_areas_share_is_listed_once(tmp_path: Path) -> None:
    """Two areas asking for the same checklist item: the checklist lists it once."""
    rules_dir = copy_rules(tmp_path)
    twin = (rules_dir / "areas" / "support.yml").read_text()
    twin = twin.replace(
        "      - Link the customer tickets and count the customers affected",
        "      - Link the customer tickets and count the customers affected\n"
        "      - Record indicators of compromise (IPs, hashes, accounts, tokens) in the confidential issue",
    )
    (rules_dir / "areas" / "support.yml").write_text(twin)
    body = note_body(plan_for(load_rules(rules_dir), "issue.open.incident", title="Phishing mail sent to customers"))
    assert body.count("Record indicators of compromise (IPs, hashes, accounts, tokens)") == 1


def test_no_area_for_an_ordinary_incident(rules: RuleSet) -> None:
    """An incident no area recognises follows the common process alone."""
    plan = plan_for(rules, "issue.open.incident", title="Checkout returns 500 errors")
    assert "Functional area" not in note_body(plan) and remembered(plan, "areas") is None


def copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), target)
    return target


BAD_AREA = """\
area:
  name: payments
  title: Payments
  match:
    categories: [money]
  roles: [cashier]
  channels: [payments-room]
  checklists:
    settlement:
      - Reconcile the ledger
  severity_examples:
    7: Nobody can pay
"""


def test_bad_area_file_gives_file_line_errors(tmp_path: Path) -> None:
    """Unknown category, role, channel, phase and severity are each reported at their file and line."""
    rules_dir = copy_rules(tmp_path)
    bad = rules_dir / "areas" / "payments.yml"
    bad.write_text(BAD_AREA)
    (rules_dir / "areas" / "typo.yml").write_text("area:\n  name: typo\n  title: Typo\n  chanels: [sirt]\n")
    with pytest.raises(RulesError) as caught:
        load_rules(rules_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"{rules_dir / 'areas' / 'typo.yml'}:4: area.chanels: unknown key 'chanels'; expected one of: name, title, "
        "description, match, checklists, roles, channels, severity_examples, handoff, reporting, projects, "
        "code_paths"
    ]
    (rules_dir / "areas" / "typo.yml").unlink()
    with pytest.raises(RulesError) as caught:
        load_rules(rules_dir)
    report = caught.value.report()
    assert f"{bad}:6: area 'payments': unknown role 'cashier'" in report
    assert f"{bad}:7: area 'payments': unknown channel 'payments-room'" in report
    assert f"{bad}:10: area 'payments': unknown phase 'settlement'" in report
    assert f"{bad}:12: area 'payments': unknown severity 7" in report
    assert f"{bad}:5: area 'payments': unknown category 'money'" in report
    assert main(["check-rules", str(rules_dir)]) == 1


def test_handbook_has_a_page_per_area(rules: RuleSet) -> None:
    """Each shipped area has its own handbook page, listed on the index."""
    slugs = [page.slug for page in build(rules)]
    assert {f"area-{name}" for name in rules.areas} <= set(slugs)
    assert set(rules.areas) == {"security", "reliability", "development", "quality", "support"}


def test_simulate_shows_the_area_chosen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`incident-bot simulate` names the functional areas that applied."""
    data = payload("issue.open.incident")
    data["object_attributes"]["title"] = "Leaked credential in the CI logs"
    path = tmp_path / "leak.json"
    path.write_text(json.dumps(data))
    assert main(["simulate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "functional areas: security" in out and "**Functional area: Security (SIRT)**" in out
