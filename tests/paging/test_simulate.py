"""`incident-bot paging --simulate <severity>`: each level, who it reaches now, through which contacts, when;
bad arguments exit 2 with one sentence, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cli import main
from tests.rulesdir import TEST_RULES

AT = "2026-01-01T00:00:00Z"  # the rotations' turn at this time: eoc-dave on call, im-bob managing


def test_each_level_who_it_reaches_how_and_when(paging_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every level of every run, the people resolved at --at with their contacts, the delays, the broadcast."""
    assert main(["paging", "--simulate", "1", "--at", AT, "--rules", str(paging_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Severity 1 (critical) pages with policy 'default' (at 2026-01-01 00:00 UTC):"
    assert lines[1] == "  level 1 of 3, run 1 of 2, at once (acknowledge within 5 min):"
    assert "whoever holds eoc (until staffed: @eoc-dave, on call in rotation engineers-on-call now)" in lines[2]
    assert lines[2].endswith("via channel pager-dave (webhook)")
    assert lines[3] == "  level 2 of 3, run 1 of 2, after 5 min unacknowledged (acknowledge within 10 min):"
    assert "@im-bob" in lines[4] and lines[4].endswith("via channel pager-bob (teams)")
    assert lines[5].endswith("already paged in this run: not paged again")
    assert (
        lines[6].startswith("  level 3 of 3, run 1 of 2, after 15 min")
        and lines[7] == "    - channel executives (slack)"
    )
    assert lines[8].startswith("  level 1 of 3, run 2 of 2, after 30 min")
    assert "via channel pager-dave" in lines[9]  # a new run pages its people again
    assert lines[-1] == "  after 60 min unacknowledged: nobody acknowledged; told responders"


def test_by_name_or_label_and_a_severity_that_pages_nobody(
    paging_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A severity by its name or label; one outside `page_on` says it starts no page."""
    assert main(["paging", "--simulate", "severity::2", "--at", AT, "--rules", str(paging_dir)]) == 0
    assert capsys.readouterr().out.startswith("Severity 2 (high) pages with policy 'default'")
    assert main(["paging", "--simulate", "Medium", "--rules", str(paging_dir)]) == 0
    assert capsys.readouterr().out == "Severity 3 (medium) starts no page: no page_on entry names it.\n"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--simulate", "7"], "severity must be one of 1 (critical), 2 (high), 3 (medium), 4 (low), got '7'"),
        (["--simulate", "1", "--at", "yesterday"], "argument --at: expected a date"),
        ([], "the following arguments are required: --simulate"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(
    paging_dir: Path, argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A severity the rules lack, a bad time, no severity: exit 2, one sentence, no traceback."""
    try:
        code = main(["paging", *argv, "--rules", str(paging_dir)])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and said in err and "Traceback" not in err


def test_rules_without_paging_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Rules with no paging policies: nothing to simulate, said in a sentence."""
    assert main(["paging", "--simulate", "1", "--rules", str(TEST_RULES)]) == 2
    assert "the rules have no paging policies" in capsys.readouterr().err


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80).filter(lambda t: not t.startswith("-") and "\x00" not in t))
def test_any_severity_text_is_a_page_or_a_sentence(paging_dir: Path, text: str) -> None:
    """Whatever is given as the severity, the command answers 0 or 2, never raises."""
    assert main(["paging", "--simulate", text, "--at", AT, "--rules", str(paging_dir)]) in (0, 2)
