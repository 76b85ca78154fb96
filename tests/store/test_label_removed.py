"""Removing the incident label reaches the index through the delivery path: edge, queue, worker, store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.rules import RuleSet
from service.store import Store
from service.web.app import create_app
from service.web.edge import Accepted, Ignored, IgnoreReason, classify
from service.worker import Runtime
from tests.conftest import DECLARED, DECLARED_LABELS, hook_headers, payload

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
AFTER = [label for label in DECLARED_LABELS if label != "incident"]


def relabelled(before: list[str], after: list[str], action: str = "update") -> dict[str, Any]:
    """An Issue Hook of a plain issue (type Issue) whose labels went from `before` to `after`."""
    data = payload("issue.open.incident-label")
    attrs = data["object_attributes"]
    attrs.update(action=action, type="Issue", updated_at="2026-11-27T09:30:00Z")
    data["labels"] = attrs["labels"] = [{"title": t} for t in after]
    data["changes"] = {"labels": {"previous": [{"title": t} for t in before], "current": [{"title": t} for t in after]}}
    return data


def removal() -> dict[str, Any]:
    """The incident label taken off a declared incident, its other labels kept."""
    return relabelled(DECLARED_LABELS, AFTER)


def test_the_edge_admits_an_issue_hook_that_removed_the_incident_label() -> None:
    """Labels before held `incident`, now not: accepted (the index must hear it); other plain issues stay ignored."""
    headers = {"X-Gitlab-Event": "Issue Hook"}
    assert isinstance(classify(headers, json.dumps(removal()).encode()), Accepted)
    plain = relabelled(["bug"], ["bug", "frontend"])
    assert classify(headers, json.dumps(plain).encode()) == Ignored(IgnoreReason.NOT_AN_INCIDENT)
    renamed = relabelled(["incident"], ["bug"])
    assert isinstance(classify(headers, json.dumps(renamed).encode(), incident_label="sev"), Ignored)


def test_the_edge_reads_a_malformed_label_change_as_no_removal() -> None:
    """`changes.labels.previous` of the wrong shape: not a removal, answered like any plain issue (no 5xx)."""
    headers = {"X-Gitlab-Event": "Issue Hook"}
    for previous in (None, "incident", 5, [5, None, ["incident"]], {"title": "incident"}):
        data = relabelled(["bug"], ["bug"])
        data["changes"]["labels"]["previous"] = previous
        assert classify(headers, json.dumps(data).encode()) == Ignored(IgnoreReason.NOT_AN_INCIDENT)
    data = relabelled(["bug"], ["bug"])
    data["changes"] = {"labels": "incident"}
    assert classify(headers, json.dumps(data).encode()) == Ignored(IgnoreReason.NOT_AN_INCIDENT)


@pytest.mark.parametrize("memory", [DECLARED, {}], ids=["declared", "never-declared"])
def test_the_planner_does_nothing_for_an_issue_that_is_no_incident(rules: RuleSet, memory: dict[str, Any]) -> None:
    """No default severity, phase, staffing or declaration on an issue whose incident label was just removed."""
    event = parse_event(removal(), delivery_id="d-removed")
    for labels in (frozenset(AFTER), frozenset()):
        state = IncidentState(issue=Issue(1, 23, labels=labels, issue_type="issue"), memory=dict(memory))
        assert plan_event(event, state, rules, NOW).empty


def deliver(client: Any, redis_conn: Redis, data: dict[str, Any], key: str) -> None:
    """POST the delivery to the real app, then run what it queued with a real (in-process) RQ worker."""
    resp = client.post("/webhook", data=json.dumps(data).encode(), headers=hook_headers(key=key))
    assert resp.status_code == 202, resp.json
    worker = SimpleWorker([Queue("incident-bot", connection=redis_conn)], connection=redis_conn)
    worker.work(burst=True)
    job = Queue("incident-bot", connection=redis_conn).fetch_job(key)
    assert job is not None and job.get_status() == "finished"


def test_removing_the_incident_label_makes_the_index_forget_it(
    fake, runtime: Runtime, indexed: Store, settings, rules: RuleSet, redis_conn: Redis
) -> None:
    """Declared through a delivery, un-declared through one: gone from the index; the bot wrote nothing for it."""
    client = create_app(settings, connection=redis_conn, rules=rules).test_client()
    fake.issues[(1, 23)].update(issue_type="issue", labels=["incident"])
    deliver(client, redis_conn, relabelled([], ["incident"], action="open"), "declare")
    row = indexed.incident(1, 23)
    assert row is not None and row.severity == 3
    fake.issues[(1, 23)]["labels"] = sorted(fake.labels() - {"incident"})
    writes = len(fake.writes())
    deliver(client, redis_conn, relabelled(sorted(fake.labels() | {"incident"}), sorted(fake.labels())), "undeclare")
    assert indexed.incident(1, 23) is None
    assert indexed.count() == 0
    assert len(fake.writes()) == writes  # no label, note or assignment on an issue that is no incident
