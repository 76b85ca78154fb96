"""`report` and `reindex` read every time, duration and number through the one bounded parser.

`report --project 99999999999999999999999` and `report --since 99999999999d` printed tracebacks. Any
value of those options now runs, or exits 2 with argparse's line naming the option; never a traceback.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cli import main
from tests.boundvalues import EDGES, values

REPORT_OPTIONS = ["--since", "--from", "--to", "--project", "--group"]
REINDEX_OPTIONS = ["--since", "--project", "--group", "--workers"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty index under a fresh data directory; reindex has no GitLab token (it stops before reading)."""
    monkeypatch.setenv("INCIDENT_BOT_DATA_DIR", str(tmp_path / "data"))
    for name in ("INCIDENT_BOT_DATABASE_URL", "GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def run(argv: list[str]) -> tuple[int, str]:
    """Run the CLI in this process: its exit code and what it printed on standard error."""
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if not isinstance(exc.code, int) and exc.code is not None:
                err.write(str(exc.code))
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["report", "--project", "99999999999999999999999"], "--project"),
        (["report", "--project", "9223372036854775808"], "--project"),
        (["report", "--since", "99999999999d"], "--since"),
        (["report", "--since", "99999999w"], "--since"),
        (["report", "--from", "0001-01-01T00:00:00+01:00"], "--from"),
        (["report", "--to", "9999-12-31T23:59:59-01:00"], "--to"),
        (["report", "--to", "9999-12-31"], "--to"),
        (["reindex", "--since", "99999999999d"], "--since"),
        (["reindex", "--project", "99999999999999999999999"], "--project"),
        (["reindex", "--workers", "0"], "--workers"),
        (["reindex", "--workers", "99999999999999999999"], "--workers"),
    ],
)
def test_out_of_range_options_exit_2_naming_the_option(data_dir: Path, argv: list[str], option: str) -> None:
    """The values from the issue (and their kin): exit 2, `argument OPTION: expected ...`, no traceback."""
    code, err = run(argv)
    assert code == 2, err
    assert f"argument {option}: expected" in err and "Traceback" not in err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["report", "reindex"]), st.data())
def test_any_option_value_runs_or_exits_2_naming_it(data_dir: Path, command: str, data: st.DataObject) -> None:
    """Hypothesis over the options' values: the command runs (0) or exits 2 saying why (the option, or for
    reindex the unset GITLAB_TOKEN: a configuration error, once its options are read)."""
    options = REPORT_OPTIONS if command == "report" else REINDEX_OPTIONS
    option = data.draw(st.sampled_from(options))
    value = data.draw(values | st.sampled_from(EDGES))
    code, err = run([command, f"{option}={value}"])
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:  # the option named, a report window that ends before it starts, or reindex's unset token
        named = f"argument {option}" in err or "must be before --to" in err
        assert named or (command == "reindex" and "GITLAB_TOKEN" in err), err
