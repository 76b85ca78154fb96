"""`reindex` reads the merge requests of the production deployments it knows and never read (issue 19): a merge
request named as a cause whose deployment no suspect list ever named counts against that deployment in
`report --changes`; a rerun asks GitLab nothing again (SQLite and PostgreSQL, the one fake GitLab)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from service.gitlab.history import GitLabHistory
from service.reports.changes import change_figures
from service.rules import RuleSet
from service.store import Store
from service.store.causes import Cause, CauseKind, caused_incidents, record_cause
from service.store.changes import deployments_between
from service.store.reindex_changes import backfill_deployments
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.web.board.seed import incident

NOW = datetime(2026, 4, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
LISTED = "/projects/1/deployments/{}/merge_requests"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def history(fake: FakeGitLab, store: Store) -> None:
    """Project 1 (group/project) in GitLab: production deployments 11 (2 March 08:00, no merge request), 12 (5 March
    10:00, !40 and !41) and 15 (10 March 12:00, !43); 13 failed (6 March, !42); 14 to staging (3 March, !40).
    The index knows none of them (no hook, no suspect list). Incident #10 (started 5 March 10:45, restored 30 min
    later) was caused by !40, #11 (10 March 12:20, restored in 90 min) by deployment 15, #12 by !42."""
    fake.deploy(1, 11, at(2, 8))
    fake.deploy(1, 12, at(5, 10))
    fake.deploy(1, 13, at(6, 9), status="failed")
    fake.deploy(1, 14, at(3, 9), environment="staging", tier="staging")
    fake.deploy(1, 15, at(10, 12))
    for deployment, iid in ((12, 40), (12, 41), (15, 43), (13, 42), (14, 40)):
        fake.ship(1, deployment, iid, path="group/project")
    for iid, start, restored in ((10, at(5, 10, 45), 30), (11, at(10, 12, 20), 90), (12, at(6, 10), 10)):
        ago = (NOW - start).total_seconds() / 60
        store.record(
            incident(iid, f"Incident {iid}", now=NOW, started_minutes_ago=ago, project_id=1,
                     project_path="group/project", resolved_minutes_ago=ago - restored)
        )  # fmt: skip
    record_cause(store.engine, 1, 10, Cause(1, 10, CauseKind.MERGE_REQUEST, 1, merge_request_iid=40))
    record_cause(store.engine, 1, 11, Cause(1, 11, CauseKind.DEPLOYMENT, 1, deployment_id=15))
    record_cause(store.engine, 1, 12, Cause(1, 12, CauseKind.MERGE_REQUEST, 1, merge_request_iid=42))


def reindexed(fake: FakeGitLab, store: Store, rules: RuleSet, **scope: Any) -> str:
    """`reindex`'s deployments and their merge requests over the fake GitLab (real HTTP): the line it prints."""
    with FakeGitLabServer(fake) as server:
        source = GitLabHistory(server.url, "token")
        return backfill_deployments(
            store, source, rules, scope.get("project"), scope.get("group"), scope.get("since"), workers=2
        )


def figures(store: Store) -> dict[str, Any]:
    found = change_figures(deployments_between(store.engine, MARCH, NOW), caused_incidents(store.engine))
    return {name: vars(f) for name, f in found.items()}


def reads(fake: FakeGitLab) -> list[str]:
    return sorted(c.path for c in fake.calls if c.path.endswith("/merge_requests"))


def test_a_cause_merge_request_no_suspect_list_named_counts_after_reindex(store: Store, rules: RuleSet) -> None:
    """Production in March: 3 deployments (11, 12, 15), 2 caused incidents (15 directly, 12 through !40): rate
    0.6667, minutes to the incident 20 and 45 (nearest-rank median 20), to restore 90 and 30 (median 30). !42 was
    only in the failed deployment: it counts nowhere. Only the three production deployments' merge requests are
    read (not the failed one's, not staging's); reindexing again reads none."""
    fake = FakeGitLab()
    history(fake, store)
    line = reindexed(fake, store, rules)
    assert line.endswith("; merge requests of 3 production deployments read")
    assert reads(fake) == [LISTED.format(n) for n in (11, 12, 15)]
    assert figures(store) == {
        "group/project/production": {
            "deployments": 3,
            "caused_incidents": 2,
            "change_failure_rate": 0.6667,
            "median_minutes_to_incident": 20.0,
            "median_minutes_to_restore": 30.0,
        },
        "group/project/staging": {
            "deployments": 1,
            "caused_incidents": 0,
            "change_failure_rate": 0.0,
            "median_minutes_to_incident": None,
            "median_minutes_to_restore": None,
        },
    }
    assert {(c.iid, c.deployment.deployment_id) for c in caused_incidents(store.engine)} == {(10, 12), (11, 15)}
    again = reindexed(fake, store, rules)
    assert again.endswith("; merge requests of 0 production deployments read")
    assert reads(fake) == [LISTED.format(n) for n in (11, 12, 15)]  # each read once, the empty one too


def test_the_suspects_environments_are_read_too_and_a_refusal_is_asked_again(
    store: Store, rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    """An environment the suspects' settings name counts as production for the reads (staging here); a deployment
    GitLab refuses to list merge requests for is logged, not kept, and asked again by the next reindex."""
    fake = FakeGitLab()
    history(fake, store)
    suspects = replace(rules.settings.suspects, environments=("staging",))
    named = replace(rules, settings=replace(rules.settings, suspects=suspects))
    fake.fail("GET", LISTED.format(12), 403)
    with caplog.at_level(logging.WARNING, logger="incident_bot.reindex"):
        line = reindexed(fake, store, named, project="group/project")
    assert line.endswith("; merge requests of 3 production deployments read")  # 11, 14 (staging), 15
    assert any("merge requests of deployment 12 of project group/project not read" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert {(c.iid, c.deployment.deployment_id) for c in caused_incidents(store.engine)} == {(11, 15)}
    fake.failures.clear()
    assert reindexed(fake, store, named).endswith("; merge requests of 1 production deployments read")
    assert {(c.iid, c.deployment.deployment_id) for c in caused_incidents(store.engine)} == {(10, 12), (11, 15)}
