"""The CLI in process: simulate, schema, check-rules; settings from the environment; rotations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from service.cli import main
from service.config import Settings, shipped_rules_dir
from service.errors import ConfigError
from service.rules.rotation import Override, Rotation
from tests.conftest import FIXTURES, ROOT

DOCS = ROOT.parent / "shared" / "payloads" / "issue_hook.docs-example.json"


def test_simulate_documented_payload_is_ignored(capsys) -> None:
    """GitLab's documented example (type Issue) is not an incident: simulate says so and exits 0."""
    assert main(["simulate", str(FIXTURES / "issue.open.docs.json")]) == 0
    assert capsys.readouterr().out.startswith("not an incident")


def test_simulate_incident_prints_plan_and_comment(capsys) -> None:
    """Each action with its rule, the writes it would make, and the comment."""
    assert main(["simulate", str(FIXTURES / "issue.open.incident.json")]) == 0
    out = capsys.readouterr().out
    assert "AddLabels(labels=('severity::3',))  [rule: default-severity]" in out
    assert "GitLab writes: one PUT" in out and "--- the comment ---" in out


def test_simulate_with_state_and_json(tmp_path: Path, capsys) -> None:
    """`--state` says what GitLab holds now; `--json` is machine-readable."""
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "memory": {
                    "declared": True,
                    "severity": 3,
                    "phase": "identification",
                    "category": "availability",
                    "staffed": {"eoc": "eoc-carol"},
                }
            }
        )
    )
    assert main(["simulate", str(FIXTURES / "issue.update.severity.json"), "--state", str(state), "--json"]) == 0
    actions = json.loads(capsys.readouterr().out)
    assert {"action": "RemoveLabels", "rule": "exclusive-severity", "labels": ["severity::3"]} in actions


def test_simulate_bad_inputs_are_explained(tmp_path: Path, capsys) -> None:
    """A missing or malformed file is a one-line error and exit 2, never a traceback."""
    assert main(["simulate", str(tmp_path / "absent.json")]) == 2
    (tmp_path / "bad.json").write_text('{"object_kind": "issue"}')
    assert main(["simulate", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "absent.json" in err and "missing field object_attributes" in err


@pytest.mark.skipif(not DOCS.exists(), reason="shared/ payloads not beside the checkout")
def test_simulate_on_shared_payloads(capsys) -> None:
    """The README's example: the documented payload from ../shared/payloads."""
    assert main(["simulate", str(DOCS)]) == 0


def test_schema_and_check_rules(capsys) -> None:
    """`schema` prints JSON; `check-rules` summarises the shipped rules."""
    assert main(["schema"]) == 0 and json.loads(capsys.readouterr().out)["title"] == "incident-bot rules file"
    assert main(["check-rules"]) == 0 and capsys.readouterr().out.startswith("rules OK: ")


def test_settings_from_environment() -> None:
    """The documented variables; no token means dry-run; the shipped rules by default."""
    settings = Settings.from_env({"GITLAB_URL": "https://gitlab.example.com/", "REDIS_URL": "redis://r:6379/1"})
    assert settings.gitlab_url == "https://gitlab.example.com" and settings.dry_run
    assert settings.rules_dir == shipped_rules_dir() and (settings.rules_dir / "severity.yml").exists()
    assert Settings.from_env({"GITLAB_TOKEN": "t", "INCIDENT_BOT_RULES": "/x"}).rules_dir == Path("/x")
    assert settings.recovery_seconds == 25


def test_bad_number_in_environment_is_a_clear_exit() -> None:
    """A typo in a numeric variable stops the process with the variable named."""
    with pytest.raises(ConfigError, match="INCIDENT_BOT_MAX_BODY_BYTES must be a whole number"):
        Settings.from_env({"INCIDENT_BOT_MAX_BODY_BYTES": "1MB"})


def test_rotation_turns_and_overrides() -> None:
    """Members take turns at the hand-over time; an override wins while it lasts."""
    rotation = Rotation(
        "eoc",
        ("carol", "dave"),
        date(2026, 1, 5),
        time(9, 0),
        period_days=1,
        overrides=(Override("erin", datetime(2026, 12, 24, 9, tzinfo=UTC), datetime(2026, 12, 27, 9, tzinfo=UTC)),),
    )
    assert rotation.on_call(datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == "carol"
    assert rotation.on_call(datetime(2026, 1, 6, 8, 59, tzinfo=UTC)) == "carol"
    assert rotation.on_call(datetime(2026, 1, 6, 9, 0, tzinfo=UTC)) == "dave"
    assert rotation.on_call(datetime(2026, 12, 25, 12, 0, tzinfo=UTC)) == "erin"
    assert Rotation("empty", (), date(2026, 1, 5), time(9, 0)).on_call(datetime.now(UTC)) is None


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_start_without_a_secret(command, monkeypatch, capsys) -> None:
    """No GITLAB_WEBHOOK_SECRET and no local-trial flag: exit 2 naming the variable and the way out."""
    monkeypatch.delenv("GITLAB_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("INCIDENT_BOT_LOCAL_TRIAL", raising=False)
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert "GITLAB_WEBHOOK_SECRET" in err and "--insecure-local-trial" in err and "INCIDENT_BOT_LOCAL_TRIAL" in err


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["web", "--insecure-local-trial"], {}), (["web"], {"INCIDENT_BOT_LOCAL_TRIAL": "1"})],
)
def test_web_starts_without_a_secret_only_as_an_explicit_local_trial(argv, env, monkeypatch, capsys) -> None:
    """The flag or INCIDENT_BOT_LOCAL_TRIAL=1 lets `web` start without a secret, with a loud warning."""
    import service.web.server

    started: list[tuple[str, float]] = []
    monkeypatch.setattr(
        service.web.server, "run_gunicorn", lambda bind, workers, read_timeout: started.append((bind, read_timeout))
    )
    monkeypatch.delenv("GITLAB_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("INCIDENT_BOT_LOCAL_TRIAL", "")  # recorded, so the flag's own setting is undone too
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("INCIDENT_BOT_READ_TIMEOUT", "3")
    assert main(argv) == 0
    assert started == [("127.0.0.1:8080", 3.0)]
    assert "every delivery is accepted unverified" in capsys.readouterr().err


def test_web_with_a_secret_starts_quietly(monkeypatch, capsys) -> None:
    """With a secret, `web` starts and says nothing about trials."""
    import service.web.server

    started: list[str] = []
    monkeypatch.setattr(service.web.server, "run_gunicorn", lambda bind, workers, read_timeout: started.append(bind))
    monkeypatch.setenv("GITLAB_WEBHOOK_SECRET", "s3cret")
    assert main(["web", "--bind", "127.0.0.1:9999"]) == 0
    assert started == ["127.0.0.1:9999"] and "unverified" not in capsys.readouterr().err


def test_bad_whsec_secret_stops_web_with_a_clear_message(monkeypatch, capsys) -> None:
    """A `whsec_` secret that is not base64 is a start-up error (exit 2) naming the variable."""
    monkeypatch.setenv("GITLAB_WEBHOOK_SECRET", "whsec_@@@")
    assert main(["web"]) == 2
    assert "GITLAB_WEBHOOK_SECRET starts with whsec_" in capsys.readouterr().err


def test_a_lone_web_names_its_redis_and_index_and_joins_a_running_serves_redis(
    monkeypatch, capsys, tmp_path: Path
) -> None:
    """`web` says which Redis and index it uses; with REDIS_URL unset it takes a running serve's, like doctor."""
    import service.web.server
    from service.trial import Running, write_runfile

    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(
        service.web.server,
        "run_gunicorn",
        lambda bind, workers, read_timeout: seen.append(
            (os.environ.get("REDIS_URL", ""), os.environ.get("INCIDENT_BOT_DATABASE_URL", ""))
        ),
    )
    monkeypatch.setenv("GITLAB_WEBHOOK_SECRET", "s3cret")
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)  # a dry-run: the trial's own index, as the worker's
    monkeypatch.setenv("REDIS_URL", "")  # recorded, so what web sets for gunicorn's app is undone
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", "")
    monkeypatch.setenv("INCIDENT_BOT_DATA_DIR", str(tmp_path))
    write_runfile(Running(os.getpid(), "unix:///tmp/serve-redis.sock", "sqlite:///x", True, "127.0.0.1:8080"))
    assert main(["web", "--bind", "127.0.0.1:9999"]) == 0
    out = capsys.readouterr().err  # a log line: the JSON log format has it as JSON
    assert seen == [("unix:///tmp/serve-redis.sock", f"sqlite:///{tmp_path / 'trial.sqlite3'}")]
    assert "Redis unix:///tmp/serve-redis.sock" in out and f"the serve running as pid {os.getpid()}" in out
    assert "trial.sqlite3" in out


def test_bad_board_setting_stops_web_in_one_line(tmp_path: Path) -> None:
    """`incident-bot web` whose app refuses a board setting exits 2 with that one line, no traceback."""
    env = {
        "PATH": "/usr/bin:/bin",
        "GITLAB_WEBHOOK_SECRET": "s3cret",
        "INCIDENT_BOT_BOARD_SESSION_HOURS": "abc",
        "INCIDENT_BOT_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "web", "--bind", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    # After web's start line (which Redis and index): the one line, and no traceback.
    assert done.stderr.endswith("\nincident-bot: INCIDENT_BOT_BOARD_SESSION_HOURS must be a number, got 'abc'\n")
    assert "Traceback" not in done.stderr
