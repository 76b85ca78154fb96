"""`rules/paging.yml`: what it accepts, and every hostile or mistaken value refused with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.rules import RulesError, load_rules
from tests.paging.pagingrules import paging_rules

BASE = """paging:
  policies:
    default:
      levels:
        - {notify: %s, ack_within_minutes: %s}
  contacts:
    eoc-carol: %s
"""


def load(folder: Path, text: str) -> RulesError | None:
    target = folder / "rules"
    if not target.exists():
        paging_rules(folder)
    (target / "paging.yml").write_text(text)
    try:
        load_rules(target)
    except RulesError as exc:
        return exc
    return None


@pytest.mark.parametrize(
    ("notify", "minutes", "contacts", "line", "said"),
    [
        ('["role:nobody"]', "5", '["channel:pager-carol"]', 5, "role:nobody: unknown role 'nobody'"),
        ('["channel:eoc"]', "5", '["channel:pager-carol"]', 5, "unknown channel 'eoc'"),
        ('["team:database"]', "5", '["channel:pager-carol"]', 5, "does not match"),
        ('["role:eoc"]', "0", '["channel:pager-carol"]', 5, "less than or equal to the minimum"),
        ('["role:eoc"]', "99999", '["channel:pager-carol"]', 5, "greater than the maximum"),
        ('["role:eoc"]', "5", '["channel:nowhere"]', 7, "unknown channel 'nowhere'"),
        ('["role:eoc"]', "5", '["email:carol@example.com\\r\\nBcc: all@example.com"]', 7, "does not match"),
        ('["role:eoc"]', "5", '["email:Carol <carol@example.com>"]', 7, "does not match"),
        ('["role:eoc"]', "5", '["sms:+15551234"]', 7, "does not match"),
    ],
)
def test_mistakes_are_refused_with_file_and_line(tmp_path: Path, notify, minutes, contacts, line, said) -> None:
    """Each mistake names paging.yml, its line and what is wrong."""
    error = load(tmp_path, BASE % (notify, minutes, contacts))
    assert error is not None
    (problem,) = error.problems
    assert problem.file.endswith("paging.yml") and problem.line == line and said in problem.message


def test_unknown_policy_severity_and_team_are_named(tmp_path: Path) -> None:
    """page_on and teams may name only policies, severities, roles and teams the rules define."""
    text = BASE % ('["role:eoc"]', "5", '["channel:pager-carol"]')
    text += "  page_on:\n    - {severity: [1, 7], roles: [ghost], policy: other}\n  teams:\n    nobody: default\n"
    error = load(tmp_path, text)
    assert error is not None
    found = sorted((p.line, p.message) for p in error.problems)
    assert found == [
        (9, "page_on: unknown policy 'other'"),
        (9, "page_on: unknown role 'ghost'"),
        (9, "page_on: unknown severity 7"),
        (11, "paging.teams: unknown team 'nobody'"),
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.text(max_size=40),
    contact=st.text(max_size=60),
    minutes=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.text(max_size=5)),
)
def test_hostile_values_load_or_are_refused_with_a_line(tmp_path: Path, target: str, contact: str, minutes) -> None:
    """Whatever a level or a contact holds, the rules load or every problem names paging.yml and a line."""
    text = BASE % (json.dumps([target]), json.dumps(minutes), json.dumps([contact]))
    error = load(tmp_path, text)
    if error is None:
        rules = load_rules(tmp_path / "rules")
        assert rules.paging.policies["default"].levels[0].notify == (target,)
        assert ":" in target and "\n" not in contact and " " not in contact
        return
    assert error.problems and all(p.file.endswith("paging.yml") and p.line >= 1 for p in error.problems)
