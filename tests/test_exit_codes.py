"""One meaning per exit code, whatever the command: 0 ok, 1 a check failed, 2 a usage or configuration error."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main
from tests.conftest import test_redis_url
from tests.rulesdir import TEST_RULES

PROJECT = ["--project", "group/project"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token; the test Redis; an index under tmp_path; the test rules."""
    for name in ("GITLAB_TOKEN", "INCIDENT_BOT_DATABASE_URL", "INCIDENT_BOT_PROJECTS", "INCIDENT_BOT_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", test_redis_url())
    monkeypatch.setenv("INCIDENT_BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(TEST_RULES))
    monkeypatch.setenv("GITLAB_URL", "http://127.0.0.1:9")  # nothing answers there


@pytest.mark.parametrize(
    "argv",
    [
        ["setup", *PROJECT, "--url", "https://bot.example.com/webhook"],
        ["setup", "--dry-run", *PROJECT, "--url", "https://bot.example.com/webhook"],
        ["reconcile", *PROJECT],
        ["reconcile", "--dry-run", *PROJECT],
        ["drill", "database-outage", *PROJECT],
        ["reindex", *PROJECT],
        ["doctor", *PROJECT],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_no_token_is_a_configuration_error_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every command that needs GITLAB_TOKEN exits 2 without one and names the variable."""
    assert main(argv) == 2
    assert "GITLAB_TOKEN is" in capsys.readouterr().err


def test_dry_run_says_it_reads_gitlab_too(capsys: pytest.CaptureFixture[str]) -> None:
    """setup --dry-run needs a token because it reads the labels and hooks; the message says so."""
    assert main(["setup", "--dry-run", *PROJECT, "--url", "https://bot.example.com/webhook"]) == 2
    assert "--dry-run reads GitLab too" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "argv"),
    [
        ({"INCIDENT_BOT_LOG_FORMAT": "jsno"}, ["report"]),
        ({"INCIDENT_BOT_MAX_BODY_BYTES": "lots"}, ["doctor"]),
        ({"INCIDENT_BOT_DATABASE_URL": "postgresql://bot:pw@127.0.0.1:9/index"}, ["report"]),
        ({"INCIDENT_BOT_RULES": "/nonexistent/rules"}, ["simulate", "tests/fixtures/issue.open.incident.json"]),
        ({"INCIDENT_BOT_RULES": "/nonexistent/rules", "GITLAB_TOKEN": "t"}, ["reconcile", *PROJECT]),
    ],
    ids=["log format", "a number setting", "index unreachable", "rules (simulate)", "rules (reconcile)"],
)
def test_a_bad_setting_exits_2_in_one_line(
    env: dict[str, str], argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setting or rules directory the command cannot use: exit 2 with the reason, no traceback."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option or a malformed value is argparse's exit 2."""
    for argv in (["setup", "--bogus"], ["report", "--since", "soon"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2


def test_a_failed_check_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check-rules on a broken file and doctor against a GitLab that does not answer: exit 1."""
    (tmp_path / "broken.yml").write_text("rules:\n  - name: x\n    then: [{set_phase: nope}]\n")
    assert main(["check-rules", str(tmp_path)]) == 1
    monkeypatch.setenv("GITLAB_TOKEN", "t")
    assert main(["doctor", *PROJECT]) == 1
    assert main(["check-rules", str(TEST_RULES)]) == 0
