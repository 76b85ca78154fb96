"""Deployment and Feature Flag Hooks at the edge: GitLab's documented payloads accepted and queued per project,
missing or wrong fields a 400 naming them, never a 500 (hypothesis), and what is accepted parses in the worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.changes.hooks import ChangeReference, Deployment, FlagChange, PayloadError, parse_change
from service.web.edge import Accepted, Ignored, Rejected, classify
from tests.changes.helpers import FIELDS, JSON, TIMES
from tests.conftest import hook_headers, payload

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def deployment(**fields: Any) -> dict[str, Any]:
    """GitLab's documented deployment example, fields overridden (None: removed)."""
    data = payload("deployment.success.docs")
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_the_documented_deployment_is_read_field_by_field() -> None:
    """Every field the index keeps, from GitLab's example; the `+0200` time in UTC."""
    change = parse_change(deployment(), NOW)
    assert change == Deployment(
        project_id=30,
        project_path="root/test-deployment-webhooks",
        deployment_id=15,
        status="success",
        environment="staging",
        tier="staging",
        deployable_url="http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796",
        sha="279484c0",
        commit_title="Add new file",
        user="root",
        status_changed_at=datetime(2021, 4, 28, 19, 50, tzinfo=UTC),
    )


def test_the_documented_flag_switch_is_read_with_the_time_it_arrived() -> None:
    """A flag hook carries no time: the switch is dated when the edge received it."""
    change = parse_change(payload("feature_flag.on.docs"), NOW)
    assert change == FlagChange(1, "gitlabhq/gitlab-test", "test-feature-flag", True, "root", NOW, 6)


def test_optional_fields_may_be_missing_or_null() -> None:
    """No tier, no job URL (API deployments), no user, no time: empty, and the arrival time."""
    change = parse_change(
        deployment(environment_tier=None, deployable_url=None, user=None, status_changed_at=None, short_sha=None), NOW
    )
    assert isinstance(change, Deployment)
    assert (change.tier, change.deployable_url, change.user, change.sha) == ("", "", "", "")
    assert change.status_changed_at == NOW
    assert cast(Any, parse_change(deployment(status_changed_at="yesterday"), NOW)).status_changed_at == NOW


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"deployment_id": None}, "missing field deployment_id"),
        ({"deployment_id": "15x"}, "field deployment_id must be an integer"),
        ({"status": 3}, "field status must be a string"),
        ({"environment": None}, "missing field environment"),
        ({"project": []}, "field project must be an object"),
        ({"user": "root"}, "field user must be an object"),
        ({"status_changed_at": "99999-01-01T00:00:00Z"}, None),  # no time at all: the arrival time
        ({"status_changed_at": "9999-12-31T23:00:00-05:00"}, "field status_changed_at must be a time"),
        ({"commit_title": "\ud800"}, "field commit_title must be valid text"),
    ],
)
def test_a_wrong_field_is_named(fields: dict[str, Any], message: str | None) -> None:
    """What GitLab always sends, missing or of the wrong type, is a PayloadError naming the field."""
    if message is None:
        assert cast(Any, parse_change(deployment(**fields), NOW)).status_changed_at == NOW
        return
    with pytest.raises(PayloadError, match=message):
        parse_change(deployment(**fields), NOW)


def test_huge_texts_are_cut_and_nul_characters_dropped() -> None:
    """A megabyte of commit title is kept to the index's 1024 characters; NUL (PostgreSQL refuses it) is dropped."""
    change = parse_change(deployment(commit_title="x\x00" * 500_000, environment="p\x00rod"), NOW)
    assert isinstance(change, Deployment)
    assert change.commit_title == "x" * 1024 and change.environment == "prod"


def test_the_edge_accepts_both_hooks_and_queues_them_per_project() -> None:
    """Accepted with the order key `changes:<project id>` and no actor (a change is never the bot's own)."""
    for name, header in (("deployment.success.docs", "Deployment Hook"), ("feature_flag.on.docs", "Feature Flag Hook")):
        body = json.dumps(payload(name)).encode()
        for headers in (hook_headers(header), {}):  # the header, or only the body's object_kind
            decision = classify(headers, body)
            assert isinstance(decision, Accepted)
            assert decision.ref.issue_key == f"changes:{payload(name)['project']['id']}"
            assert decision.ref.actor == ""


def test_a_flag_switched_again_without_idempotency_key_is_another_delivery() -> None:
    """Same body (flag hooks carry no time), another X-Gitlab-Event-UUID: not a duplicate; the same UUID is."""
    body = json.dumps(payload("feature_flag.on.docs")).encode()
    first = classify(hook_headers("Feature Flag Hook", **{"X-Gitlab-Event-UUID": "u1"}), body)
    again = classify(hook_headers("Feature Flag Hook", **{"X-Gitlab-Event-UUID": "u2"}), body)
    retry = classify(hook_headers("Feature Flag Hook", **{"X-Gitlab-Event-UUID": "u1"}), body)
    assert isinstance(first, Accepted) and isinstance(again, Accepted) and isinstance(retry, Accepted)
    assert first.delivery_id != again.delivery_id and first.delivery_id == retry.delivery_id


def test_a_change_body_under_another_header_is_not_taken_for_one() -> None:
    """An `Issue Hook` header with a deployment body is ignored (object_kind), a deployment header with an issue
    body refused: the header and the body must agree."""
    assert isinstance(classify(hook_headers("Issue Hook"), json.dumps(deployment()).encode()), Ignored)
    with pytest.raises(Rejected) as refused:
        classify(hook_headers("Deployment Hook"), json.dumps(payload("issue.open.incident")).encode())
    assert refused.value.status == 400


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    which=st.sampled_from(["deployment.success.docs", "feature_flag.on.docs"]),
    header=st.sampled_from(["Deployment Hook", "Feature Flag Hook", ""]),
    changes=st.dictionaries(st.sampled_from(FIELDS), JSON | TIMES | st.text(min_size=5000, max_size=6000), max_size=4),
)
def test_hostile_change_hooks_get_a_400_or_parse(which: str, header: str, changes: dict[str, Any]) -> None:
    """Wrong types, huge strings, far-future or impossible times in any field: the edge refuses (400) or accepts, and
    whatever it accepts the worker parses into a record the index can store (bounded texts, times in range)."""
    data = {**payload(which), **changes}
    body = json.dumps(data).encode()
    headers = hook_headers(header) if header else {}
    try:
        decision = classify(headers, body)
    except Rejected as exc:
        assert exc.status == 400
        return
    if not isinstance(decision, Accepted) or not isinstance(decision.ref, ChangeReference):
        return  # ignored (a body the header does not announce): not this test's concern
    change = parse_change(json.loads(body), NOW)
    texts = [v for v in vars(change).values() if isinstance(v, str)]
    assert all(len(t) <= 2048 and "\x00" not in t for t in texts)
    at = change.status_changed_at if isinstance(change, Deployment) else change.changed_at
    assert datetime(1970, 1, 1, tzinfo=UTC) <= at < datetime(9999, 1, 1, tzinfo=UTC)
