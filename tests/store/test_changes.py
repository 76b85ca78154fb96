"""Deployments and flag switches in the index, and an incident's suspects read back, on SQLite and PostgreSQL.

The story of issue 19: three deployments (one failed, one outside the window) and a flag switch, then an
incident; the suspects are exactly the right ones, newest first, with their reasons. Also the hooks sent
through the real web app, queue and worker.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from redis import Redis

from service.changes.hooks import FlagChange
from service.changes.suspects import SuspectScope, scope_of
from service.config import Settings
from service.rules import RuleSet, load_rules
from service.store import Store
from service.store.changes import candidates, deployments_between, record, suspects
from service.web.app import create_app
from service.worker.rqworker import make_worker
from tests.changes.helpers import SETTINGS, SHOP, START, deployed, switched
from tests.conftest import hook_headers, payload
from tests.rules.helpers import rules_with_area_projects


def test_the_story_three_deployments_and_a_flag_then_an_incident(store: Store) -> None:
    """A failed deployment, one 25 h before, one 12 min before, a flag 40 min before: two suspects, newest first."""
    for change in (
        deployed(1, 12),
        deployed(2, 30, status="failed"),
        deployed(3, 25 * 60),
        switched("new-checkout", 40),
    ):
        record(store.engine, change)
    found = suspects(store.engine, SuspectScope(1, SHOP, START), SETTINGS)
    assert [s.reason for s in found] == [
        "deployed to production 12 min before the incident started",
        "feature flag new-checkout switched on 40 min before the incident started",
    ]
    assert [type(s.change).__name__ for s in found] == ["Deployment", "FlagChange"]
    assert found[0].change == deployed(1, 12)  # read back field for field


def test_running_then_success_in_any_order_keeps_success(store: Store) -> None:
    """Hooks of one deployment arriving out of order: the latest status wins; at the same instant, the finished one."""
    record(store.engine, deployed(7, 10, status="success"))
    record(store.engine, deployed(7, 15, status="running"))  # older, delivered late
    record(store.engine, deployed(7, 10, status="running"))  # the same instant: running never replaces success
    assert [d.status for d in deployments_between(store.engine, START - timedelta(days=1), START)] == ["success"]
    record(store.engine, deployed(7, 5, status="failed"))  # a later status (a rollback failed it) does
    assert list(deployments_between(store.engine, START - timedelta(days=1), START)) == []


def test_a_replayed_flag_switch_adds_nothing(store: Store) -> None:
    """The same switch recorded twice (a job run again) is one row; switched off then on again are three."""
    for change in (switched("f", 30), switched("f", 30), switched("f", 20, active=False), switched("f", 10)):
        record(store.engine, change)
    assert len([c for c in candidates(store.engine, SuspectScope(1, SHOP, START), replace(SETTINGS, limit=20))]) == 3


def test_only_production_or_named_environments_and_the_window_edges(store: Store) -> None:
    """Staging is no suspect unless the rules name it; a change at the start and one at the window's edge count."""
    for change in (deployed(1, 0), deployed(2, 24 * 60), deployed(3, 5, tier="staging"), deployed(4, 24 * 60 + 1)):
        record(store.engine, change)
    scope = SuspectScope(1, SHOP, START)
    assert [cast(Any, s.change).deployment_id for s in suspects(store.engine, scope, SETTINGS)] == [1, 2]
    named = replace(SETTINGS, environments=("staging",))
    assert [cast(Any, s.change).deployment_id for s in suspects(store.engine, scope, named)] == [1, 3, 2]
    assert suspects(store.engine, scope, named)[0].reason == "deployed to production 0 min before the incident started"


def test_at_most_the_limit_newest_first_with_ties_broken_alike(store: Store) -> None:
    """Eight suspects, three at the same instant: the five newest, in the same order on both backends."""
    for n in range(1, 7):
        record(store.engine, deployed(n, 10 * n if n > 3 else 10))
    record(store.engine, switched("a", 10))
    record(store.engine, switched("b", 5))
    found = suspects(store.engine, SuspectScope(1, SHOP, START), SETTINGS)
    assert [getattr(s.change, "deployment_id", getattr(s.change, "name", None)) for s in found] == ["b", 3, 2, 1, "a"]


def test_other_projects_only_when_shared_and_never_for_a_confidential_incident(store: Store) -> None:
    """acme/payments (shared through a group path) is named with its project; a confidential incident names its own
    project's changes only; an unshared project's changes never."""
    record(store.engine, deployed(1, 20))
    record(store.engine, deployed(2, 10, project_id=2, project_path="acme/payments"))
    record(store.engine, deployed(3, 5, project_id=3, project_path="other/secret"))
    record(store.engine, deployed(4, 7, project_id=4, project_path="acme_x/tricky"))  # `_` is no LIKE wildcard here
    shared = SuspectScope(1, SHOP, START, shared=("Acme",))
    assert [s.reason for s in suspects(store.engine, shared, SETTINGS)] == [
        "deployed to production in acme/payments 10 min before the incident started",
        "deployed to production 20 min before the incident started",
    ]
    confidential = replace(shared, confidential=True)
    assert [s.change.project_id for s in suspects(store.engine, confidential, SETTINGS)] == [1]


def test_the_scope_follows_the_areas_projects(tmp_path: Path) -> None:
    """An incident of a project an area lists shares that area's projects; a confidential one shares none."""
    rules = load_rules(rules_with_area_projects(tmp_path, "[acme/shop, acme/payments]"))
    scope = scope_of(rules, 1, SHOP, START, confidential=False)
    assert scope.paths == ("acme/shop", "acme/payments")
    assert scope_of(rules, 1, SHOP, START, confidential=True).paths == ()
    assert scope_of(rules, 9, "elsewhere/app", START, confidential=False).paths == ()


def test_hooks_through_the_web_queue_and_worker(
    settings: Settings, rules: RuleSet, redis_conn: Redis, runtime, indexed: Store
) -> None:
    """The documented hooks posted to /webhook, queued, run by a real worker: in the index, nothing sent to GitLab."""
    client = create_app(settings, connection=redis_conn, rules=rules).test_client()
    production = {**payload("deployment.success.docs"), "environment": "production", "environment_tier": "production"}
    production["status_changed_at"] = (START - timedelta(minutes=12)).strftime("%Y-%m-%d %H:%M:%S +0000")
    running = {**production, "status": "running", "status_changed_at": "2026-11-27 09:40:00 +0000"}
    sent = [
        (running, "Deployment Hook", "d-1"),
        (production, "Deployment Hook", "d-2"),
        (production, "Deployment Hook", "d-2"),  # GitLab resending the same delivery
        (payload("feature_flag.on.docs"), "Feature Flag Hook", "f-1"),
    ]
    answers = [
        client.post("/webhook", data=json.dumps(body), headers=hook_headers(event, key)).get_json()
        for body, event, key in sent
    ]
    assert [a["status"] for a in answers] == ["queued", "queued", "duplicate", "queued"]
    assert answers[1]["after"] == answers[0]["job_id"]  # one project's changes in order: the second waits for the first
    make_worker(settings, redis_conn).work(burst=True)
    found = deployments_between(indexed.engine, START - timedelta(days=1), START + timedelta(days=1))
    assert [(d.project_id, d.deployment_id, d.status) for d in found] == [(30, 15, "success")]
    received = datetime.now(UTC) + timedelta(minutes=1)  # a flag switch is dated when the edge received it
    flags = candidates(indexed.engine, SuspectScope(1, "gitlabhq/gitlab-test", received), SETTINGS)
    assert [(f.name, f.active) for f in flags if isinstance(f, FlagChange)] == [("test-feature-flag", True)]
