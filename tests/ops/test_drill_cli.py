"""`incident-bot drill --project P SCENARIO [--dry-run]`: the issue it opens, its declaration, and its refusals."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from service.cli import main
from service.config import Settings
from service.incident import read_memory
from service.worker import build_runtime, install
from tests.conftest import test_redis_url
from tests.fakegitlab import FakeGitLabServer
from tests.rulesdir import TEST_RULES


@pytest.fixture()
def env(server: FakeGitLabServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "GITLAB_URL": server.url,
        "GITLAB_TOKEN": "test-token",
        "REDIS_URL": test_redis_url(),
        "INCIDENT_BOT_RULES": str(TEST_RULES),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("INCIDENT_BOT_PROJECTS", "INCIDENT_BOT_CHANNEL_TRAINING", "INCIDENT_BOT_CHANNEL_RESPONDERS"):
        monkeypatch.delenv(name, raising=False)


def test_the_command_opens_the_drill_and_the_worker_declares_it(
    env, server, fake, redis_conn: Redis, rules, capsys
) -> None:
    """It prints the issue's URL; the issue has the drill's title, labels and marker; the queued hook declares it."""
    assert main(["drill", "--project", "group/project", "leaked-credential"]) == 0
    url = capsys.readouterr().out.strip()
    (drill,) = [i for i in fake.issues.values() if i["title"].startswith("[DRILL]")]
    assert url == drill["web_url"]
    assert drill["title"] == "[DRILL] Production API token found in a public repository"
    assert drill["labels"] == ["incident", "drill", "incident-category::security", "security-incident"]
    assert "<!-- incident-bot:drill leaked-credential -->" in drill["description"]
    assert fake.bot_notes(1, drill["iid"]) == []  # nothing but the issue is written by the command
    # The hook of an issue the bot opened is dropped at the edge: the command queued its declaration instead.
    settings = Settings(gitlab_url=server.url, gitlab_token="t", redis_url=test_redis_url(), rules_dir=TEST_RULES)
    install(build_runtime(settings, rules, redis_conn))
    SimpleWorker([Queue("incident-bot", connection=redis_conn)], connection=redis_conn).work(burst=True)
    memory = read_memory(fake.bot_notes(1, drill["iid"])[0]["body"])
    assert memory is not None and memory["declared"] and memory["deliveries"] == [f"drill-open-1-{drill['iid']}"]
    assert "security" in memory.get("areas", [])


def test_dry_run_prints_the_issue_and_writes_nothing(env, fake, capsys) -> None:
    """--dry-run: title, labels and the participants' description; no GitLab call at all."""
    assert main(["drill", "--project", "group/project", "--dry-run", "database-outage"]) == 0
    out = capsys.readouterr().out
    assert "would open in group/project: [DRILL] Primary database unreachable" in out
    assert "labels: incident, drill, incident-category::availability, reliability" in out
    assert "<!-- incident-bot:drill database-outage -->" in out and "after_minutes" not in out
    assert fake.calls == []


def test_an_unknown_scenario_exits_2_listing_the_known_ones(env, fake, capsys) -> None:
    """A typo is a usage error naming every scenario; nothing is opened."""
    assert main(["drill", "--project", "group/project", "databse-outage"]) == 2
    err = capsys.readouterr().err
    assert "unknown drill scenario 'databse-outage'" in err
    assert "database-outage, leaked-credential, third-party-degraded" in err
    assert fake.calls == []


def test_refusals_say_what_is_missing(env, fake, capsys, monkeypatch) -> None:
    """No project: exit 2; no token: exit 2; a project GitLab does not know: exit 1 with GitLab's answer."""
    assert main(["drill", "database-outage"]) == 2
    assert "--project" in capsys.readouterr().err
    monkeypatch.setenv("GITLAB_TOKEN", "")
    assert main(["drill", "--project", "group/project", "database-outage"]) == 2  # as setup and reconcile
    assert "GITLAB_TOKEN is unset" in capsys.readouterr().err
    monkeypatch.setenv("GITLAB_TOKEN", "t")
    assert main(["drill", "--project", "nobody/nothing", "database-outage"]) == 1
    assert "404" in capsys.readouterr().err
    assert not [i for i in fake.issues.values() if i["title"].startswith("[DRILL]")]


def test_a_drill_opens_even_when_redis_is_down(env, fake, capsys, monkeypatch) -> None:
    """Redis unreachable: the issue is opened and printed, and stderr says the declaration waits for reconcile."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["drill", "--project", "group/project", "third-party-degraded"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("http://")
    assert "the next reconcile pass declares it" in captured.err


def test_setup_creates_the_drill_label(rules) -> None:
    """`setup` wants the drill label once the rules define a scenario (and not before)."""
    from dataclasses import replace
    from types import MappingProxyType

    from service.ops.labels import label_names, wanted_labels

    assert "drill" in label_names(wanted_labels(rules))
    assert "drill" not in label_names(wanted_labels(replace(rules, drills=MappingProxyType({}))))
