"""`incident-bot doctor` and the periodic webhook check, against the fake GitLab over HTTP and the real Redis."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
import requests
from redis import Redis

from service.config import Settings
from service.gitlab.ops import OpsGitLab
from service.ops.doctor import DoctorOptions, run_doctor
from service.ops.setup import SetupOptions, run_setup
from service.ops.table import Row, Status, has_problem, render
from service.ops.watch import check_webhook
from service.rules import RuleSet
from tests.fakegitlab import FakeGitLabServer
from tests.receivers import HttpReceiver, free_port
from tests.rulesdir import ROOT, TEST_RULES

URL = "https://bot.example.com/webhook"
TODAY = date(2026, 11, 27)
AREA_CHANNELS = ("SIRT", "RELIABILITY", "DEVELOPMENT", "QUALITY", "SUPPORT")
CHANNELS = {
    "INCIDENT_BOT_CHANNEL_RESPONDERS": "https://hooks.example.com/r",
    "INCIDENT_BOT_CHANNEL_EXECUTIVES": "https://hooks.example.com/e",
    # The functional areas' channels (rules/areas/, declared in notifications.yml).
    **{f"INCIDENT_BOT_CHANNEL_{area}": f"https://hooks.example.com/{area.lower()}" for area in AREA_CHANNELS},
    # The drills' training channel (settings.training_channel, declared in notifications.yml).
    "INCIDENT_BOT_CHANNEL_TRAINING": "https://hooks.example.com/training",
}


@pytest.fixture()
def api(server: FakeGitLabServer) -> OpsGitLab:
    return OpsGitLab(server.url, "test-token", timeout=5)


@pytest.fixture()
def ready(api: OpsGitLab, rules: RuleSet) -> OpsGitLab:
    """GitLab as `incident-bot setup` leaves it."""
    rows = run_setup(api, rules, SetupOptions(url=URL, secret="s", project="group/project"))
    assert not has_problem(rows), render(rows)
    return api


def doctor(api: OpsGitLab, settings: Settings, conn: Redis, env=CHANNELS, **options) -> list[Row]:
    opts = {"project": "group/project", "url": URL, **options}
    return run_doctor(api, settings, conn, DoctorOptions(**opts), env=env, today=lambda: TODAY)


def row(rows: list[Row], what: str, name: str) -> Row:
    (found,) = [r for r in rows if r.what == what and r.name == name]
    return found


def test_doctor_is_all_ok_after_setup(ready, settings, redis_conn) -> None:
    """Right after setup, with channel targets set, every line is ok."""
    rows = doctor(ready, settings, redis_conn)
    assert {r.status for r in rows} == {Status.OK}, render(rows)
    kinds = {"gitlab", "token", "access", "webhook", "labels", "redis", "queue", "failed jobs", "index", "rules"}
    assert kinds | {"channel", "rotation member", "alerts"} == {r.what for r in rows}


def test_doctor_checks_every_rotation_member(ready, fake, settings, redis_conn, tmp_path) -> None:
    """Each rotation member is checked: one who left the project, a blocked one and a placeholder fail, with the fix."""
    del fake.members[fake.users["im-bob"]]
    fake.blocked.add("db-heidi")
    rows = doctor(ready, settings, redis_conn)
    members = {r.name: r for r in rows if r.what == "rotation member"}
    assert len(members) == 8 and row(rows, "rotation member", "@eoc-carol").status is Status.OK
    assert members["@im-bob"].status is Status.FAIL and "not a member of group/project" in members["@im-bob"].detail
    assert members["@db-heidi"].status is Status.FAIL and "blocked" in members["@db-heidi"].detail
    shipped = doctor(ready, replace(settings, rules_dir=ROOT / "rules"), redis_conn)
    placeholders = [r for r in shipped if r.what == "rotation member"]
    assert placeholders and all(r.status is Status.FAIL and "a placeholder" in r.detail for r in placeholders)


def test_disabled_hook_fails_with_the_fix(ready, fake, settings, redis_conn) -> None:
    """A hook GitLab disabled after failed deliveries is a fail that says how to re-enable it."""
    fake.disable_hook(fake.hooks[("projects", 1)][0], permanently=True)
    rows = doctor(ready, settings, redis_conn)
    enabled = row(rows, "webhook", "enabled")
    assert enabled.status is Status.FAIL
    assert "disabled it for good" in enabled.detail and "Test → Issue events" in enabled.detail
    assert has_problem(rows)


def test_temporarily_disabled_hook_fails_too(ready, fake, settings, redis_conn) -> None:
    """A paused hook (`disabled_until` set) delivers nothing either: fail, naming until when."""
    hook = fake.hooks[("projects", 1)][0]
    fake.disable_hook(hook)
    enabled = row(doctor(ready, settings, redis_conn), "webhook", "enabled")
    assert enabled.status is Status.FAIL and "paused" in enabled.detail
    assert f"until {hook['disabled_until']}" in enabled.detail


def test_missing_hook_and_labels_point_to_setup(api, settings, redis_conn) -> None:
    """Before setup: the webhook is a fail and the labels a warning, both naming `incident-bot setup`."""
    rows = doctor(api, settings, redis_conn)
    hook = row(rows, "webhook", "project group/project")
    assert hook.status is Status.FAIL and "incident-bot setup" in hook.detail
    labels = row(rows, "labels", "group/project")
    assert labels.status is Status.WARN and "incident-bot setup" in labels.detail


def test_hook_pointing_elsewhere_fails(ready, settings, redis_conn) -> None:
    """The hook exists but sends to another URL than this bot's public one."""
    rows = doctor(ready, settings, redis_conn, url="https://new-host.example.com/webhook")
    assert row(rows, "webhook", "url").status is Status.FAIL


def test_token_expiring_soon_warns_and_missing_scope_fails(ready, fake, settings, redis_conn) -> None:
    """Expiry within 14 days is a warning; a token without the api scope is a fail."""
    fake.token.update(expires_at="2026-12-05", scopes=["read_api"])
    rows = doctor(ready, settings, redis_conn)
    assert row(rows, "token", "expiry").status is Status.WARN
    assert "8 days" in row(rows, "token", "expiry").detail
    assert row(rows, "token", "scopes").status is Status.FAIL


def test_unreachable_gitlab_fails_with_the_fix(settings, redis_conn) -> None:
    """Nothing listening at GITLAB_URL: one fail line naming GITLAB_URL, and the other checks still run."""
    api = OpsGitLab(f"http://127.0.0.1:{free_port()}", "t", timeout=2)
    rows = doctor(api, settings, redis_conn)
    gitlab = row(rows, "gitlab", settings.gitlab_url)
    assert gitlab.status is Status.FAIL and "GITLAB_URL" in gitlab.detail
    assert row(rows, "redis", "ping").status is Status.OK


def test_failing_deliveries_warn_and_a_401_names_the_secret(ready, fake, settings, redis_conn) -> None:
    """Recent deliveries answered 401 mean the secret differs: a warning with `setup --reset-token`."""
    hook = fake.hooks[("projects", 1)][0]
    fake.hook_events[hook["id"]] = [
        {"id": 1, "response_status": 200, "created_at": "2026-11-27T08:00:00Z"},
        {"id": 2, "response_status": 401, "created_at": "2026-11-27T09:00:00Z"},
    ]
    deliveries = row(doctor(ready, settings, redis_conn), "webhook", "deliveries")
    assert deliveries.status is Status.WARN and "1 of the last 2" in deliveries.detail
    assert "--reset-token" in deliveries.detail


def test_deliveries_gitlab_could_not_make_count_as_failed(ready, fake, settings, redis_conn) -> None:
    """GitLab records an unreachable receiver as words, not a status: still a failed delivery, no crash."""
    hook = fake.hooks[("projects", 1)][0]
    fake.hook_events[hook["id"]] = [
        {"id": 1, "response_status": "internal error", "created_at": "2026-11-27T09:00:00Z"},
        {"id": 2, "response_status": "200", "created_at": "2026-11-27T08:00:00Z"},
        {"id": 3, "response_status": None, "created_at": "2026-11-27T07:00:00Z"},
    ]
    deliveries = row(doctor(ready, settings, redis_conn), "webhook", "deliveries")
    assert deliveries.status is Status.WARN and "2 of the last 3" in deliveries.detail
    assert "internal error" in deliveries.detail


def test_unset_channel_target_warns(ready, settings, redis_conn) -> None:
    """A channel whose variable is unset is a warning naming the variable."""
    rows = doctor(ready, settings, redis_conn, env={"INCIDENT_BOT_CHANNEL_RESPONDERS": "https://hooks.example.com/r"})
    executives = row(rows, "channel", "executives")
    assert executives.status is Status.WARN and "INCIDENT_BOT_CHANNEL_EXECUTIVES" in executives.detail


def test_redis_down_fails(ready, settings) -> None:
    """No Redis at REDIS_URL: a fail line, the GitLab checks still reported."""
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    rows = doctor(ready, settings, dead)
    assert row(rows, "redis", "ping").status is Status.FAIL
    assert row(rows, "webhook", "enabled").status is Status.OK


@pytest.fixture()
def responders() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


def test_periodic_check_alerts_once_per_state_change(ready, fake, redis_conn, responders) -> None:
    """Disabled: the responders hear once however often the check runs; re-enabled: they hear once more."""

    def alert(text: str) -> None:
        requests.post(responders.url, json={"text": text}, timeout=5).raise_for_status()

    project = ready.namespace("projects", "group/project")
    hook = fake.hooks[("projects", 1)][0]
    health = check_webhook(ready, project, URL, redis_conn, alert)
    assert health is not None and health.healthy
    assert responders.requests == []
    fake.disable_hook(hook, permanently=True)
    for _ in range(3):
        health = check_webhook(ready, project, URL, redis_conn, alert)
        assert health is not None and not health.healthy
    (first,) = responders.delivered
    assert "not receiving GitLab events for group/project" in first.json()["text"]
    assert "Test → Issue events" in first.json()["text"]
    fake.enable_hook(hook)
    check_webhook(ready, project, URL, redis_conn, alert)
    check_webhook(ready, project, URL, redis_conn, alert)
    assert len(responders.delivered) == 2
    assert "again" in responders.delivered[1].json()["text"]


def test_periodic_check_tries_again_when_the_alert_failed(ready, fake, redis_conn, responders) -> None:
    """A responders channel that fails once does not swallow the alert: the next run sends it."""

    def alert(text: str) -> None:
        requests.post(responders.url, json={"text": text}, timeout=5).raise_for_status()

    project = ready.namespace("projects", "group/project")
    check_webhook(ready, project, URL, redis_conn, alert)
    fake.disable_hook(fake.hooks[("projects", 1)][0])
    responders.fail(1)
    with pytest.raises(requests.HTTPError):
        check_webhook(ready, project, URL, redis_conn, alert)
    check_webhook(ready, project, URL, redis_conn, alert)
    check_webhook(ready, project, URL, redis_conn, alert)
    assert len(responders.delivered) == 1


def test_token_that_cannot_read_hooks_warns(ready, fake, settings, redis_conn) -> None:
    """The bot's own Developer token cannot read webhooks (403): a warning saying whose token can."""
    fake.fail("GET", r"/projects/1/hooks", 403)
    hook = row(doctor(ready, settings, redis_conn), "webhook", "project group/project")
    assert hook.status is Status.WARN and "maintainer's token" in hook.detail


def test_channel_values_the_worker_would_refuse_fail(tmp_path, ready, settings, redis_conn) -> None:
    """A non-URL target and a signed webhook channel without its secret are fails naming the variable."""
    rules_dir = tmp_path / "rules"
    shutil.copytree(TEST_RULES, rules_dir)
    (rules_dir / "signed.yml").write_text(
        "channels:\n  audit:\n    kind: webhook\n    target_env: AUDIT_URL\n    secret_env: AUDIT_SECRET\n"
    )
    env = {**CHANNELS, "INCIDENT_BOT_CHANNEL_EXECUTIVES": "executives@example.com", "AUDIT_URL": "https://a.example"}
    rows = doctor(ready, replace(settings, rules_dir=rules_dir), redis_conn, env=env)
    executives, audit = row(rows, "channel", "executives"), row(rows, "channel", "audit")
    assert executives.status is Status.FAIL and "an http(s) URL" in executives.detail
    assert audit.status is Status.FAIL and "AUDIT_SECRET" in audit.detail
