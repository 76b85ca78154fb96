"""`reindex` backfills deployments from the Deployments API: the same rows, and the same `report --changes`, as the
same deployments delivered as Deployment Hooks; a rerun adds nothing; rows GitLab should never send are skipped."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from service.changes.listed import guess_tier, parse_listed
from service.cli import main
from service.config import Settings
from service.fields import PayloadError
from service.gitlab import Session
from service.gitlab.deployments import GitLabDeployments
from service.reports.changes import change_figures
from service.rules import RuleSet
from service.store import Store
from service.store.causes import Cause, CauseKind, caused_incidents, record_cause
from service.store.changes import deployments_between
from service.store.reindex_changes import BackfillResult, backfill
from service.store.schema import deployments
from service.web.app import create_app
from service.worker.rqworker import make_worker
from tests.changes.helpers import JSON
from tests.conftest import hook_headers
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.web.board.seed import incident

NOW = datetime(2026, 4, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def deployed(fake: FakeGitLab) -> list[dict[str, Any]]:
    """Project 1: two production deployments, a failed one, one to staging, one listed without its tier (GitLab
    before 16); project 2: one. Each as the hook GitLab delivers for it."""
    return [
        fake.deploy(1, 11, at(2, 8), title="Add checkout"),
        fake.deploy(1, 12, at(5, 10), user="alice"),
        fake.deploy(1, 13, at(6, 9), status="failed"),
        fake.deploy(1, 14, at(3, 9), environment="staging", tier="staging"),
        fake.deploy(1, 15, at(10, 12), tier=None),
        fake.deploy(2, 21, at(4, 7)),
    ]


def rows(store: Store) -> list[dict[str, Any]]:
    """Every deployments row, without when the index learned it."""
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(deployments).order_by(deployments.c.project_id, deployments.c.deployment_id))
        return [{k: v for k, v in row._mapping.items() if k != "recorded_at"} for row in found]


def caused(store: Store) -> None:
    """Incident #10 of project 1 caused by deployment 11, #11 of project 2 by deployment 21."""
    for iid, pid, path, dep in ((10, 1, "group/project", 11), (11, 2, "group/other", 21)):
        store.record(
            incident(iid, f"Incident {iid}", now=NOW, started_minutes_ago=(NOW - at(6, 12)).total_seconds() / 60,
                     project_id=pid, project_path=path, resolved_minutes_ago=1000)
        )  # fmt: skip
        record_cause(store.engine, pid, iid, Cause(pid, iid, CauseKind.DEPLOYMENT, pid, deployment_id=dep))


def figures(store: Store) -> dict[str, Any]:
    found = change_figures(deployments_between(store.engine, MARCH, NOW), caused_incidents(store.engine))
    return {name: vars(f) for name, f in found.items()}


def backfilled(fake: FakeGitLab, store: Store, **kwargs: Any) -> BackfillResult:
    with FakeGitLabServer(fake) as server:
        return backfill(store.engine, GitLabDeployments(Session(server.url, token="token")), **kwargs)


def test_backfill_gives_the_rows_and_figures_the_hooks_gave(
    settings: Settings, rules: RuleSet, redis_conn: Redis, runtime, indexed: Store
) -> None:
    """The deployments as hooks through the web app, queue and worker, then the index's deployments dropped and
    backfilled from the API: the same rows and the same `report --changes` figures; backfilling again adds nothing."""
    fake = FakeGitLab()
    client = create_app(settings, connection=redis_conn, rules=rules).test_client()
    for n, hook in enumerate(deployed(fake)):
        answer = client.post("/webhook", data=json.dumps(hook), headers=hook_headers("Deployment Hook", f"d-{n}"))
        assert answer.get_json()["status"] == "queued"
    make_worker(settings, redis_conn).work(burst=True)
    caused(indexed)
    hooked, hooked_figures = rows(indexed), figures(indexed)
    assert len(hooked) == 6 and hooked_figures["group/project/production"]["change_failure_rate"] == 0.3333
    assert hooked_figures["group/other/production"]["caused_incidents"] == 1
    assert backfilled(fake, indexed) == BackfillResult(projects=2, deployments=6, added=0, skipped=0)
    assert rows(indexed) == hooked  # a hooked deployment and its backfilled self are one row
    with indexed.engine.begin() as conn:
        conn.execute(deployments.delete())
    assert backfilled(fake, indexed) == BackfillResult(projects=2, deployments=6, added=6, skipped=0)
    assert rows(indexed) == hooked
    assert figures(indexed) == hooked_figures
    assert backfilled(fake, indexed).added == 0 and rows(indexed) == hooked


def test_scope_and_since_choose_what_is_read(store: Store) -> None:
    """`--project` reads one project, `--group` its projects, `--since` only deployments updated since then (the
    API's `updated_after`, oldest first); without a scope, the projects the index has seen and the areas share."""
    fake = FakeGitLab()
    deployed(fake)
    assert backfilled(fake, store, project="group/other") == BackfillResult(1, 1, 1, 0)
    assert backfilled(fake, store, group="group", since=at(5, 0)) == BackfillResult(1, 3, 3, 0)
    listed = [c for c in fake.calls if c.path == "/projects/1/deployments"]
    assert listed[-1].query["updated_after"] == "2026-03-05T00:00:00Z" and listed[-1].query["order_by"] == "updated_at"
    assert backfilled(fake, store) == BackfillResult(2, 6, 2, 0)  # project 1 (seen in a deployment) and 2
    assert backfilled(fake, store, project="nobody/nothing") == BackfillResult(0, 0, 0, 0)


def test_a_tier_gitlab_does_not_list_is_guessed_as_gitlab_does() -> None:
    """Before GitLab 16 a listed environment carries no tier: GitLab's own guess from the name fills it."""
    names = {"production": "production", "prod-eu": "production", "live": "production", "staging": "staging",
             "review/fix-1": "development", "qa": "testing", "canary": "other"}  # fmt: skip
    assert {name: guess_tier(name) for name in names} == names


HOSTILE: list[Any] = [
    "not an object",
    None,
    {"status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "production"}},  # no id
    {"id": -3, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "production"}},
    {"id": 2**70, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "x"}},
    {"id": 31, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": "production"},
    {"id": 32, "status": 7, "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "production"}},
    {"id": 33, "status": "success", "updated_at": "yesterday", "environment": {"name": "production"}},
    {"id": 34, "status": "success", "updated_at": "0001-01-01", "environment": {"name": "production"}},
    {"id": 35, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": None}},
    {"id": 36, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "p"}, "user": []},
    {"id": 37, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "\ud800"}},
]


def test_rows_gitlab_should_never_send_are_skipped_with_a_log_line(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Each unreadable row is skipped and logged with its project and why; the readable ones are recorded; a project
    GitLab refuses is skipped with a log line; NUL characters are dropped, over-long texts cut."""
    fake = FakeGitLab()
    deployed(fake)
    good = {"id": 38, "status": "SUCCESS", "updated_at": "2026-03-02T08:00:00+00:00",
            "environment": {"name": "prod\x00uction", "tier": None}, "deployable": {"web_url": "x" * 5000},
            "sha": None, "user": {"username": "dev"}}  # fmt: skip
    fake.deployment_rows[1] += [*HOSTILE, good]
    fake.fail("GET", r"/projects/2/deployments", 403)
    with caplog.at_level(logging.WARNING, logger="incident_bot.reindex"):
        done = backfilled(fake, store, project="group/project")
        refused = backfilled(fake, store, project="group/other")
    assert done == BackfillResult(projects=1, deployments=6, added=6, skipped=len(HOSTILE))
    assert refused == BackfillResult(projects=1, deployments=0, added=0, skipped=0)
    said = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("reindex: deployment ") and " of project group/project skipped: " in m for m in said) == 12
    assert any(m.endswith("skipped: missing field id") for m in said)
    assert any(
        m.startswith("reindex: the deployments of project group/other not read: GET /projects/2/deployments")
        for m in said
    )
    kept = next(r for r in rows(store) if r["deployment_id"] == 38)
    assert (kept["environment"], kept["tier"], kept["status"]) == ("production", "production", "success")
    assert len(kept["deployable_url"]) == 2048


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=JSON | JSON.map(lambda v: {"id": 5, "status": "success", "environment": {"name": "p"}, "x": v}))
def test_any_json_is_a_deployment_or_a_payload_error(row: Any) -> None:
    """Whatever GitLab answers for a row, reading it gives a Deployment or a PayloadError, nothing else."""
    try:
        parse_listed(row, 1, "group/project")
    except PayloadError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(["id", "status", "updated_at", "environment", "deployable", "user", "sha"]),
    value=JSON,
)
def test_any_field_of_any_value_is_read_or_refused(field: str, value: Any) -> None:
    """One field of a good row replaced by any JSON: a Deployment or a PayloadError naming a field."""
    row = {"id": 5, "status": "success", "updated_at": "2026-03-02T08:00:00Z", "environment": {"name": "p"},
           "deployable": {"web_url": "u", "commit": {"title": "t"}}, "user": {"username": "u"},
           "sha": "abc"}  # fmt: skip
    try:
        parse_listed({**row, field: value}, 1, "group/project")
    except PayloadError as exc:
        assert "field" in str(exc) or "object" in str(exc)


def test_the_last_deployment_wins_whichever_way_it_came(store: Store) -> None:
    """A deployment backfilled as running, then its success delivered later: the newer status is kept either way."""
    fake = FakeGitLab()
    fake.deploy(1, 11, at(2, 8), status="running")
    backfilled(fake, store, project="group/project")
    fake.deploy(1, 11, at(2, 8) + timedelta(minutes=5))
    backfilled(fake, store, project="group/project")
    assert [(r["deployment_id"], r["status"]) for r in rows(store)] == [(11, "success")]


def test_the_command_says_what_it_backfilled(
    data_dir: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`incident-bot reindex --project group/project --since 7d` reads that project's deployments of the week and
    prints how many, and of how many production deployments it read the merge requests; a second run finds them
    known."""
    fake = FakeGitLab()
    now = datetime.now(UTC).replace(microsecond=0)
    fake.deploy(1, 11, now - timedelta(days=30))
    fake.deploy(1, 12, now - timedelta(days=2))
    fake.deploy(1, 13, now - timedelta(days=1), status="failed")
    with FakeGitLabServer(fake) as server:
        monkeypatch.setenv("GITLAB_URL", server.url)
        monkeypatch.setenv("GITLAB_TOKEN", "token")
        assert main(["reindex", "--project", "group/project", "--since", "7d"]) == 0
        first = capsys.readouterr().out
        assert main(["reindex", "--project", "group/project", "--since", "7d"]) == 0
        second = capsys.readouterr().out
    said = (
        "deployments: 2 read from 1 projects' Deployments API, {} new to the index, 0 skipped (unreadable; see the log)"
    )
    assert said.format(2) in first and said.format(0) in second
    # the merge requests of the week's one successful production deployment, read once
    assert "; merge requests of 1 production deployments read" in first
    assert "; merge requests of 0 production deployments read" in second
