"""`incident-bot doctor` checks the labels alert incidents carry in every project rules/alerts.yml routes to (issue 18).

As a person runs it (the CLI, its exit code) against the one fake GitLab over HTTP: one labels row per routed
project, with the same labels `setup` makes there (`wanted_labels`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from redis import Redis

from service.config import Settings
from service.gitlab.ops import OpsGitLab
from service.ops.doctor import DoctorOptions, run_doctor
from service.ops.table import Row, Status, render
from tests.conftest import test_redis_url
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.ops.helpers import URL, run
from tests.rulesdir import TEST_RULES

ALERTS = """alerts:
  default: {project: ops/production, labels: [from-alerts]}
  routes:
    - match: {service: checkout}
      project: shop/checkout
      category: availability
      labels: [team::checkout]
"""
OPS_PRODUCTION, CHECKOUT = 4, 3  # the fake's projects (ops/production apart from group/project, where doctor runs)


def _rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alerts: str | None = ALERTS) -> Path:
    """A copy of the test rules with this alerts.yml (none when None), as the bot's INCIDENT_BOT_RULES."""
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    (folder / "alerts.yml").unlink(missing_ok=True)
    if alerts is not None:
        (folder / "alerts.yml").write_text(alerts)
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(folder))
    return folder


def _doctor(server: FakeGitLabServer, rules_dir: Path, redis_conn: Redis) -> list[Row]:
    settings = Settings(gitlab_url=server.url, gitlab_token="t", redis_url=test_redis_url(), rules_dir=rules_dir)
    api = OpsGitLab(server.url, "test-token", timeout=5)
    return run_doctor(api, settings, redis_conn, DoctorOptions(project="group/project", url=URL), env={})


def _labels_rows(rows: list[Row]) -> dict[str, Row]:
    return {r.name: r for r in rows if r.what == "labels"}


def test_after_setup_doctor_has_an_ok_labels_row_for_each_routed_project(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch
) -> None:
    """setup, then doctor: a labels row ok for group/project, ops/production and shop/checkout; exit 0."""
    fake.projects["ops/production"] = OPS_PRODUCTION
    rules_dir = _rules_dir(tmp_path, monkeypatch)
    assert run("setup") == 0
    assert run("doctor") == 0
    rows = _labels_rows(_doctor(server, rules_dir, redis_conn))
    assert set(rows) == {"group/project", "ops/production", "shop/checkout"}, rows
    assert {r.status for r in rows.values()} == {Status.OK}, rows


def test_a_label_deleted_in_a_routed_project_is_named_with_the_fix(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch, capsys
) -> None:
    """team::checkout deleted in shop/checkout: its row warns naming it and `incident-bot setup --project`;
    a warning is not a failure (exit 0); setup puts it back and the row is ok again."""
    rules_dir = _rules_dir(tmp_path, monkeypatch)
    assert run("setup") == 0
    fake.project_labels[CHECKOUT] = [x for x in fake.project_labels[CHECKOUT] if x["name"] != "team::checkout"]
    capsys.readouterr()
    assert run("doctor") == 0
    assert "team::checkout" in capsys.readouterr().out
    row = _labels_rows(_doctor(server, rules_dir, redis_conn))["shop/checkout"]
    assert row.status is Status.WARN and "1 missing (team::checkout)" in row.detail, row
    assert "incident-bot setup --project group/project" in row.detail
    assert run("setup") == 0
    assert _labels_rows(_doctor(server, rules_dir, redis_conn))["shop/checkout"].status is Status.OK


def test_a_route_to_a_project_gitlab_does_not_know_fails_naming_alerts_yml(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch, capsys
) -> None:
    """shop/chekout (mistyped) in alerts.yml: one failed row naming it and rules/alerts.yml; doctor exits 1."""
    rules_dir = _rules_dir(tmp_path, monkeypatch, ALERTS.replace("shop/checkout", "shop/chekout"))
    run("setup")
    capsys.readouterr()
    assert run("doctor") == 1
    rows = _doctor(server, rules_dir, redis_conn)
    [bad] = [r for r in rows if r.status is Status.FAIL]
    assert bad.name == "shop/chekout" and "rules/alerts.yml" in bad.detail, render(rows)


def test_without_alerts_yml_doctor_checks_only_its_own_project(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch
) -> None:
    """No alerts.yml: one labels row (group/project's), nothing about shop/checkout or ops/production."""
    rules_dir = _rules_dir(tmp_path, monkeypatch, alerts=None)
    assert run("setup") == 0
    assert set(_labels_rows(_doctor(server, rules_dir, redis_conn))) == {"group/project"}


def test_a_routed_project_in_the_group_doctor_runs_for_is_ok_with_the_group_labels(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch
) -> None:
    """setup --group group leaves group/other (a route's project in it) the group's labels only: doctor --group
    lists them there (inherited) and its row is ok; the fix it would name is `incident-bot setup --group group`."""
    fake.premium = True
    fake.project_group[2] = 5  # group/other is in group: its label listing includes the group's
    rules_dir = _rules_dir(tmp_path, monkeypatch, ALERTS.replace("project: ops/production", "project: group/other"))
    assert run("setup", "--group", "group") == 0
    settings = Settings(gitlab_url=server.url, gitlab_token="t", redis_url=test_redis_url(), rules_dir=rules_dir)
    api = OpsGitLab(server.url, "test-token", timeout=5)
    rows = _labels_rows(run_doctor(api, settings, redis_conn, DoctorOptions(group="group", url=URL), env={}))
    assert rows["group/other"].status is Status.OK and rows["shop/checkout"].status is Status.OK, rows
    fake.group_labels[5] = [x for x in fake.group_labels[5] if x["name"] != "from-alerts"]
    rows = _labels_rows(run_doctor(api, settings, redis_conn, DoctorOptions(group="group", url=URL), env={}))
    assert (
        rows["group/other"].status is Status.WARN and "`incident-bot setup --group group`" in rows["group/other"].detail
    )


def _hook_rows(rows: list[Row]) -> dict[str, Row]:
    """The webhook rows of the routed projects (doctor's own hook rows are named url, triggers, ...)."""
    return {r.name: r for r in rows if r.what == "webhook" and "/" in r.name and " " not in r.name}


def test_after_setup_doctor_has_an_ok_webhook_row_for_each_routed_project(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch
) -> None:
    """setup, then doctor: one webhook row per routed project (ops/production, shop/checkout), ok; exit 0."""
    fake.projects["ops/production"] = OPS_PRODUCTION
    rules_dir = _rules_dir(tmp_path, monkeypatch)
    assert run("setup") == 0
    assert run("doctor") == 0
    rows = _hook_rows(_doctor(server, rules_dir, redis_conn))
    assert set(rows) == {"ops/production", "shop/checkout"}, rows
    assert {r.status for r in rows.values()} == {Status.OK}, rows
    assert URL in rows["shop/checkout"].detail


def test_a_routed_project_without_the_webhook_fails_naming_the_setup_that_makes_it(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch, capsys
) -> None:
    """shop/checkout's webhook deleted: the bot would never hear of the incidents it opens there. Its row fails
    naming `incident-bot setup --project group/project`, doctor exits 1; a setup refused there (403) exits 1, one
    allowed makes it, and doctor exits 0."""
    rules_dir = _rules_dir(tmp_path, monkeypatch)
    assert run("setup") == 0
    fake.hooks[("projects", CHECKOUT)].clear()
    capsys.readouterr()
    assert run("doctor") == 1
    row = _hook_rows(_doctor(server, rules_dir, redis_conn))["shop/checkout"]
    assert row.status is Status.FAIL and "no webhook" in row.detail, row
    assert "`incident-bot setup --project group/project`" in row.detail and "rules/alerts.yml" in row.detail
    fake.fail("GET", r"/projects/3/hooks", 403)
    assert run("setup") == 1  # a routed project's webhook setup could not make: exit 1, as for its own
    assert run("setup") == 0
    assert run("doctor") == 0
    assert _hook_rows(_doctor(server, rules_dir, redis_conn))["shop/checkout"].status is Status.OK


def test_a_routed_projects_disabled_webhook_fails_with_how_to_re_enable_it(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch
) -> None:
    """GitLab disabled shop/checkout's webhook after failed deliveries: one failed row saying how to re-enable it."""
    rules_dir = _rules_dir(tmp_path, monkeypatch)
    assert run("setup") == 0
    fake.disable_hook(fake.hooks[("projects", CHECKOUT)][0], permanently=True)
    assert run("doctor") == 1
    row = _hook_rows(_doctor(server, rules_dir, redis_conn))["shop/checkout"]
    assert row.status is Status.FAIL and "disabled it for good" in row.detail and "Test → Issue events" in row.detail


def test_a_routed_project_in_the_group_is_ok_with_the_group_webhook(
    env: None, fake: FakeGitLab, server: FakeGitLabServer, redis_conn: Redis, tmp_path: Path, monkeypatch
) -> None:
    """doctor --group group after setup --group group (Premium): group/other's row says the group's webhook delivers,
    shop/checkout's own is checked; both ok."""
    fake.premium = True
    rules_dir = _rules_dir(tmp_path, monkeypatch, ALERTS.replace("project: ops/production", "project: group/other"))
    assert run("setup", "--group", "group") == 0
    settings = Settings(gitlab_url=server.url, gitlab_token="t", redis_url=test_redis_url(), rules_dir=rules_dir)
    api = OpsGitLab(server.url, "test-token", timeout=5)
    rows = _hook_rows(run_doctor(api, settings, redis_conn, DoctorOptions(group="group", url=URL), env={}))
    assert rows["group/other"].status is Status.OK and "group group" in rows["group/other"].detail, rows
    assert rows["shop/checkout"].status is Status.OK and URL in rows["shop/checkout"].detail
