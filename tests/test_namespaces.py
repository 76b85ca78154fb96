"""Two deployments on one Redis keep out of each other's way: every key and job id carries the namespace."""

from __future__ import annotations

import dataclasses

import pytest
from redis import Redis
from rq import Queue

from service.config import Settings
from service.keys import DEFAULT_NAMESPACE, Keys
from service.web.app import create_app
from tests.conftest import body, hook_headers, payload


def _client(settings: Settings, rules, redis_conn: Redis, queue_name: str):
    return create_app(dataclasses.replace(settings, queue_name=queue_name), connection=redis_conn, rules=rules)


def _keys(redis_conn: Redis) -> set[str]:
    return {k.decode() for k in redis_conn.scan_iter(count=1000)}


def test_one_delivery_sent_to_two_deployments_is_queued_by_each(settings, rules, redis_conn) -> None:
    """The same webhook delivered to production and staging is a job in each queue, not a duplicate in one."""
    production = _client(settings, rules, redis_conn, "incident-bot").test_client()
    staging = _client(settings, rules, redis_conn, "staging").test_client()
    first = production.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="same-key"))
    second = staging.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="same-key"))
    assert first.status_code == 202 and first.json["status"] == "queued"
    assert second.status_code == 202 and second.json["status"] == "queued"
    assert first.json["job_id"] != second.json["job_id"]
    assert Queue("incident-bot", connection=redis_conn).job_ids == [first.json["job_id"]]
    assert Queue("staging", connection=redis_conn).job_ids == [second.json["job_id"]]


def test_a_deployment_never_waits_behind_anothers_job(settings, rules, redis_conn) -> None:
    """An issue's pending event in one deployment does not defer the same issue's events in the other."""
    production = _client(settings, rules, redis_conn, "incident-bot").test_client()
    staging = _client(settings, rules, redis_conn, "staging").test_client()
    production.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="p-1"))
    note = payload("note.create.incident")
    answer = staging.post("/webhook", json=note, headers=hook_headers("Note Hook", key="s-1"))
    assert answer.status_code == 202
    assert answer.json["status"] == "queued" and answer.json["after"] is None  # not deferred behind p-1


def test_a_deployments_edge_writes_only_its_own_keys(settings, rules, redis_conn) -> None:
    """Everything staging's edge writes is under `staging:` or is RQ's own key of a staging job."""
    staging = _client(settings, rules, redis_conn, "staging").test_client()
    staging.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="k-1"))
    staging.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="k-2"))
    written = _keys(redis_conn)
    assert written, "the edge wrote nothing"

    def own(key: str) -> bool:
        return key.startswith("staging:") or key == "rq:queues" or (key.startswith("rq:") and "staging" in key)

    foreign = {k for k in written if not own(k)}
    assert foreign == set()


def test_the_bot_username_of_one_deployment_filters_nothing_in_another(settings, rules, redis_conn) -> None:
    """Staging's bot user is `alice`: staging drops alice's change as its own, production still queues it."""
    from service.queue import remember_bot_username

    remember_bot_username(redis_conn, "alice", Keys("staging"))  # what staging's worker records; the fixture's actor
    staging = _client(settings, rules, redis_conn, "staging").test_client()
    production = _client(settings, rules, redis_conn, "incident-bot").test_client()
    own = staging.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="a-1"))
    assert own.status_code == 200 and own.json["status"] == "ignored"
    answer = production.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="a-1"))
    assert answer.json["status"] == "queued"


@pytest.mark.parametrize("name", ["staging", "team-a", "a:b/c"])
def test_every_key_and_job_id_of_a_namespace_is_its_own(name: str) -> None:
    """Keys name the namespace first; job ids are prefixed and stay valid RQ ids; the default keeps old names."""
    keys = Keys.of_queue(name + "-notify")
    assert keys.namespace == name
    for key in (keys.seen("d"), keys.last("1:2"), keys.memory_note(1, 2), keys.access(1, 3), keys.reminder(1, 2)):
        assert key.startswith(name + ":")
    job = keys.job_id("notify-responders-x")
    assert job != "notify-responders-x" and all(c.isalnum() or c in "_-" for c in job)
    default = Keys.of_queue(DEFAULT_NAMESPACE)
    assert default.seen("d") == "incident-bot:seen:d" and default.job_id("x-1") == "x-1"
