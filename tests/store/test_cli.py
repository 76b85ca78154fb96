"""`incident-bot report` and `incident-bot reindex` as a user runs them (SQLite index under a data directory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from service.rules import RuleSet
from tests.fakegitlab import FakeGitLabServer, history_fake
from tests.store.history_script import play
from tests.store.played import play_script, playing


def test_reindex_then_report(
    data_dir: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """reindex fills the index from GitLab; report prints the JSON contract and writes Markdown to --out."""
    history = history_fake(max_per_page=3)
    play_script(play, history, rules)
    with FakeGitLabServer(history) as server:
        monkeypatch.setenv("GITLAB_URL", server.url)
        monkeypatch.setenv("GITLAB_TOKEN", "token")
        assert main(["reindex", "--group", "shop"]) == 0
    printed = capsys.readouterr().out
    assert "reindexed 7 incidents" in printed and "0 training records of closed drills" in printed
    assert (data_dir / "incidents.sqlite3").exists()
    assert main(["report", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["from"], report["to"], report["incidents"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", 7)
    out = tmp_path / "report.md"
    assert main(["report", "--from", "2026-03-01", "--by", "month", "--out", str(out)]) == 0
    assert "| 2026-03 | 7 |" in out.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--since", "30x"], "expected a duration such as 30d"),
        (["report", "--from", "yesterday"], "expected a date (YYYY-MM-DD) or an ISO timestamp"),
        (["report", "--by", "week"], "invalid choice: 'week'"),  # team and owner group follow-ups
        (["report", "--project", "a", "--group", "b"], "not allowed with argument"),
    ],
)
def test_bad_arguments_are_named(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed option exits 2 with argparse's message naming it."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_empty_window_is_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--from after --to says so."""
    assert main(["report", "--from", "2026-03-10", "--to", "2026-03-01"]) == 2
    assert "must be before --to" in capsys.readouterr().err


def test_an_unreachable_database_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that does not answer: exit 2 with its URL (no password) and the reason, no traceback."""
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", "postgresql://bot:s3cret@127.0.0.1:9/index")
    assert main(["report"]) == 2
    text = capsys.readouterr().err
    assert text.startswith("incident-bot: cannot open the incident index at postgresql+psycopg://bot:***@127.0.0.1:9/")
    assert "s3cret" not in text


def test_reindex_needs_a_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without GITLAB_TOKEN reindex cannot read GitLab and says so."""
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    assert main(["reindex"]) == 2
    assert "GITLAB_TOKEN is not set" in capsys.readouterr().err


def test_a_first_report_prints_the_report_and_nothing_else(tmp_path: Path) -> None:
    """On a fresh machine `report` creates the index and prints the report; no migration chatter on stderr."""
    env = {**os.environ, "INCIDENT_BOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("INCIDENT_BOT_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "report", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["incidents"] == 0
    assert done.stderr == ""


def test_the_default_window_includes_an_incident_started_this_second(
    data_dir: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report` right after a declaration counts it: the window ends after now, not at now cut to the second
    (a sample delivered and reported within one second was missing: seen in the serve e2e test)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(microsecond=0)
    history = history_fake()
    with playing(history, rules) as bot:
        bot.deliver(history.open((1, 1), now, "alice", ["incident"], title="Started this second"), now)
    with FakeGitLabServer(history) as server:
        monkeypatch.setenv("GITLAB_URL", server.url)
        monkeypatch.setenv("GITLAB_TOKEN", "token")
        assert main(["reindex", "--group", "shop"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("service.reports.cli.datetime", _Frozen.at(now))  # the report runs in that same second
    assert main(["report", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["incidents"] == 1


class _Frozen:
    """datetime with now() pinned to `moment` plus half a second."""

    @staticmethod
    def at(moment):
        from datetime import datetime, timedelta

        class Frozen(datetime):
            @classmethod
            def now(cls, tz=None):
                return moment + timedelta(microseconds=500_000)

        return Frozen
