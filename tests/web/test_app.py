"""Every answer of the edge, with Flask's test client and the real Redis behind the queue."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from redis import Redis
from rq import Queue

from service.config import Settings
from service.errors import ConfigError
from service.web.app import connect, create_app
from service.web.edge import sign
from tests.conftest import SECRET, body, hook_headers, payload


@pytest.fixture()
def client(settings: Settings, rules, redis_conn: Redis):
    return create_app(settings, connection=redis_conn, rules=rules).test_client()


def queued(redis_conn: Redis, name: str = "incident-bot") -> list[str]:
    return Queue(name, connection=redis_conn).job_ids


def test_incident_is_queued(client, redis_conn) -> None:
    """A verified incident delivery is answered 202 and is on the queue under its Idempotency-Key."""
    resp = client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="key-1"))
    assert resp.status_code == 202
    assert resp.json == {"status": "queued", "job_id": "key-1", "after": None}
    assert queued(redis_conn) == ["key-1"]


def test_wrong_secret_is_401(client, redis_conn) -> None:
    """A bad token is refused and nothing is queued."""
    headers = hook_headers(key="k")
    headers["X-Gitlab-Token"] = "wrong"
    resp = client.post("/webhook", data=body("issue.open.incident"), headers=headers)
    assert resp.status_code == 401 and "X-Gitlab-Token" in resp.json["error"]
    assert queued(redis_conn) == []


def test_missing_secret_is_401(client) -> None:
    """No token and no signature: 401."""
    headers = hook_headers()
    del headers["X-Gitlab-Token"]
    assert client.post("/webhook", data=body("issue.open.incident"), headers=headers).status_code == 401


def _signed(data: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    return {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Issue Hook",
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + sign(secret, "msg_1", stamp, data),
    }


def test_signed_delivery_is_accepted(client) -> None:
    """GitLab 19's Standard-Webhooks signature is an alternative to the token."""
    data = body("issue.open.incident")
    assert client.post("/webhook", data=data, headers=_signed(data)).status_code == 202


def test_signature_over_other_body_is_401(client) -> None:
    """A signature must cover the exact body."""
    data = body("issue.open.incident")
    resp = client.post("/webhook", data=data + b" ", headers=_signed(data))
    assert resp.status_code == 401 and "does not match" in resp.json["error"]


def test_stale_signature_is_401(client) -> None:
    """A replayed signed delivery outside the timestamp window is refused."""
    data = body("issue.open.incident")
    resp = client.post("/webhook", data=data, headers=_signed(data, at=int(time.time()) - 3600))
    assert resp.status_code == 401 and "window" in resp.json["error"]


def test_malformed_json_is_400(client) -> None:
    """Not JSON: 400 with a reason, never a traceback."""
    resp = client.post("/webhook", data=b"{not json", headers=hook_headers())
    assert resp.status_code == 400 and resp.json == {"error": "body is not valid JSON"}


def test_missing_required_field_is_400(client) -> None:
    """An issue hook without its iid is malformed."""
    data = payload("issue.open.incident")
    del data["object_attributes"]["iid"]
    resp = client.post("/webhook", data=json.dumps(data), headers=hook_headers())
    assert resp.status_code == 400 and "iid" in resp.json["error"]


def test_json_array_is_400(client) -> None:
    """A JSON body that is not an object is malformed."""
    assert client.post("/webhook", data=b"[1, 2]", headers=hook_headers()).status_code == 400


def test_oversized_body_is_413(settings, rules, redis_conn) -> None:
    """A body over the configured limit is refused before it is read."""
    small = Settings(**{**settings.__dict__, "max_body_bytes": 1000})
    client = create_app(small, connection=redis_conn, rules=rules).test_client()
    resp = client.post("/webhook", data=b"x" * 5000, headers=hook_headers())
    assert resp.status_code == 413 and "1000" in (resp.json or {}).get("error", "")


def test_non_incident_is_ignored_with_reason(client, redis_conn) -> None:
    """An ordinary issue is answered 200 with a reason and not enqueued."""
    resp = client.post("/webhook", data=body("issue.open.docs"), headers=hook_headers(key="k2"))
    assert resp.status_code == 200 and resp.json == {"status": "ignored", "reason": "not an incident"}
    assert queued(redis_conn) == []


def test_other_event_types_are_ignored(client) -> None:
    """Push hooks and friends are 2xx so GitLab never pauses the hook."""
    resp = client.post("/webhook", data=json.dumps({"object_kind": "push"}), headers=hook_headers("Push Hook"))
    assert resp.status_code == 200 and resp.json["status"] == "ignored"


def test_note_on_merge_request_is_ignored(client) -> None:
    """Comments on merge requests cannot concern an incident issue."""
    data = payload("note.create.incident")
    data["object_attributes"]["noteable_type"] = "MergeRequest"
    resp = client.post("/webhook", data=json.dumps(data), headers=hook_headers("Note Hook"))
    assert resp.status_code == 200 and "MergeRequest" in resp.json["reason"]


def test_note_on_non_incident_is_ignored(client) -> None:
    """Comments on ordinary issues are not queued."""
    resp = client.post("/webhook", data=body("note.create.docs"), headers=hook_headers("Note Hook"))
    assert resp.status_code == 200 and resp.json["reason"] == "not an incident"


def test_confidential_hooks_are_accepted(client) -> None:
    """Confidential Issue Hook and Confidential Note Hook are handled like their public twins."""
    assert (
        client.post(
            "/webhook", data=body("issue.open.confidential"), headers=hook_headers("Confidential Issue Hook", key="c1")
        ).status_code
        == 202
    )
    assert (
        client.post(
            "/webhook", data=body("note.create.incident"), headers=hook_headers("Confidential Note Hook", key="c2")
        ).status_code
        == 202
    )


def test_redelivery_is_duplicate(client, redis_conn) -> None:
    """The same Idempotency-Key twice: the second is answered duplicate and nothing new is queued."""
    data = body("issue.open.incident")
    assert client.post("/webhook", data=data, headers=hook_headers(key="same")).status_code == 202
    resp = client.post("/webhook", data=data, headers=hook_headers(key="same"))
    assert resp.status_code == 200 and resp.json["status"] == "duplicate"
    assert queued(redis_conn) == ["same"]


def test_redelivery_without_key_is_duplicate_by_body(client, redis_conn) -> None:
    """Older GitLab sends no Idempotency-Key: the body's hash identifies the delivery."""
    data = body("issue.open.incident")
    client.post("/webhook", data=data, headers=hook_headers())
    assert client.post("/webhook", data=data, headers=hook_headers()).json["status"] == "duplicate"
    assert len(queued(redis_conn)) == 1


def test_bots_own_events_are_ignored_at_the_edge(client, redis_conn) -> None:
    """Once the worker has learnt the bot's username, its own changes never reach the queue."""
    redis_conn.set("incident-bot:bot-username", "alice")  # the fixture's actor
    resp = client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="mine"))
    assert resp.status_code == 200 and resp.json["reason"] == "the bot's own change"
    assert queued(redis_conn) == []


def test_second_event_of_issue_waits_for_first(client, redis_conn) -> None:
    """While an issue's earlier event is pending, the next one is deferred behind it, not queued."""
    client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="first"))
    resp = client.post("/webhook", data=body("issue.update.severity"), headers=hook_headers(key="second"))
    assert resp.status_code == 202 and resp.json["after"] == "first"
    assert queued(redis_conn) == ["first"]


def test_queue_down_is_spooled(settings, rules, tmp_path) -> None:
    """Redis unreachable: 202 spooled (GitLab does not redeliver a 503); tests/test_spool.py follows it to the queue."""
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    settings = dataclasses.replace(settings, spool_dir=tmp_path / "spool")
    client = create_app(settings, connection=dead, rules=rules).test_client()
    resp = client.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="k503"))
    assert resp.status_code == 202 and resp.json == {"status": "spooled", "job_id": "k503"}


def test_health_and_readiness(client) -> None:
    """/healthz says alive; /readyz checks Redis and reports the rules loaded."""
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["redis"] == "ok" and ready.json["rules"] > 0


def test_readiness_fails_without_redis(settings, rules) -> None:
    """/readyz is 503 when Redis does not answer."""
    dead = connect("redis://127.0.0.1:1/0")  # as the app connects: fails fast, no retry backoff
    client = create_app(settings, connection=dead, rules=rules).test_client()
    assert client.get("/readyz").status_code == 503


# Hostile input (issue 7, items 3, 6 and 8): a clear 4xx naming the problem, and nothing accepted that the worker
# cannot parse.
def _incident_with(**changes: object) -> bytes:
    """The incident fixture as raw JSON text, with top-level or object_attributes fields replaced verbatim."""
    data = payload("issue.open.incident")
    for key in changes:
        target = data if key in data and key != "object_attributes" else data["object_attributes"]
        target[key] = "@@" + key + "@@"
    text = json.dumps(data)
    for key, raw in changes.items():
        text = text.replace(f'"@@{key}@@"', str(raw))
    return text.encode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"assignees": "5"}, "assignees"),
        ({"assignees": "true"}, "assignees"),
        ({"iid": "Infinity"}, "iid"),
        ({"iid": "NaN"}, "iid"),
        ({"iid": "1e400"}, "iid"),
        ({"iid": "-5"}, "iid"),
        ({"iid": "0"}, "iid"),
        ({"iid": "1" * 4400}, "JSON"),
        ({"iid": "12.5"}, "iid"),
        ({"title": '"\\ud800"'}, "title"),
        ({"user": '{"username": "\\udcff", "id": 1}'}, "user.username"),
    ],
)
def test_what_the_worker_cannot_parse_is_400_naming_the_field(client, redis_conn, changes, field) -> None:
    """Wrong types, non-finite, huge or non-positive numbers and unencodable text: 400 naming it; nothing queued."""
    resp = client.post("/webhook", data=_incident_with(**changes), headers=hook_headers(key="bad"))
    assert resp.status_code == 400 and field in resp.json["error"], resp.json
    assert queued(redis_conn) == []


def test_negative_project_id_is_400(client) -> None:
    """A project id must be a positive integer."""
    data = payload("issue.open.incident")
    data["project"]["id"] = -1
    resp = client.post("/webhook", data=json.dumps(data), headers=hook_headers())
    assert resp.status_code == 400 and "project.id" in resp.json["error"]


@pytest.mark.parametrize("depth", [100, 999, 1000, 5000, 100_000])
def test_deeply_nested_json_is_400(client, redis_conn, depth) -> None:
    """Nesting far beyond any GitLab payload (in any field) is refused, never a RecursionError or a 500."""
    data = payload("issue.open.incident")
    data["object_attributes"]["extra"] = "@@deep@@"
    text = json.dumps(data).replace('"@@deep@@"', "[" * depth + "]" * depth)
    resp = client.post("/webhook", data=text, headers=hook_headers(key="deep"))
    assert resp.status_code == 400 and "nest" in resp.json["error"], resp.json
    assert queued(redis_conn) == []


def test_huge_signed_timestamp_is_401(client) -> None:
    """A webhook-timestamp of 400 nines is not a timestamp: 401, never an OverflowError."""
    data = body("issue.open.incident")
    headers = _signed(data)
    headers["webhook-timestamp"] = "9" * 400
    resp = client.post("/webhook", data=data, headers=headers)
    assert resp.status_code == 401 and "webhook-timestamp" in resp.json["error"]


def test_signed_replay_with_new_idempotency_key_is_duplicate(client, redis_conn) -> None:
    """The signature does not cover Idempotency-Key: a signed delivery is deduplicated on its webhook-id."""
    data = body("issue.open.incident")
    headers = _signed(data)
    first = client.post("/webhook", data=data, headers={**headers, "Idempotency-Key": "one"})
    again = client.post("/webhook", data=data, headers={**headers, "Idempotency-Key": "two"})
    assert first.status_code == 202
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert len(queued(redis_conn)) == 1


def test_whsec_secret_that_is_not_base64_is_a_start_up_error(settings, rules, redis_conn) -> None:
    """A `whsec_` secret that cannot be decoded stops the app at start, instead of a 500 per signed delivery."""
    bad = Settings(**{**settings.__dict__, "webhook_secret": "whsec_not*base64!"})
    with pytest.raises(ValueError, match="GITLAB_WEBHOOK_SECRET"):
        create_app(bad, connection=redis_conn, rules=rules)
    with pytest.raises(ConfigError, match="GITLAB_WEBHOOK_SECRET"):
        Settings.from_env({"GITLAB_WEBHOOK_SECRET": "whsec_not*base64!"})


def test_whsec_secret_signs_and_verifies(settings, rules, redis_conn) -> None:
    """A valid `whsec_` secret: deliveries signed with its decoded key are accepted."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    client = create_app(
        Settings(**{**settings.__dict__, "webhook_secret": secret}), connection=redis_conn, rules=rules
    ).test_client()
    data = body("issue.open.incident")
    assert client.post("/webhook", data=data, headers=_signed(data, secret=secret)).status_code == 202
