"""Notifications through the pipeline: edge → real Redis → worker → GitLab fake → notification jobs → receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry

from service.web.app import create_app
from service.worker import build_runtime, install
from tests.bursts import work_until
from tests.conftest import GITLAB, NOW, body, hook_headers
from tests.fakegitlab import FakeGitLab, install_responses
from tests.receivers import HttpReceiver

QUEUES = ("incident-bot", "incident-bot-notify")


@pytest.fixture()
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, HttpReceiver]]:
    found = {"responders": HttpReceiver(), "executives": HttpReceiver()}
    monkeypatch.setenv("INCIDENT_BOT_CHANNEL_RESPONDERS", found["responders"].url)
    monkeypatch.setenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", found["executives"].url)
    yield found
    for receiver in found.values():
        receiver.close()


@pytest.fixture()
def gitlab() -> Iterator[FakeGitLab]:
    model = FakeGitLab()
    model.add_issue(1, 23)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")  # the notification receivers are real servers
        install_responses(rsps, model, GITLAB)
        yield model


@pytest.fixture()
def pipeline(settings, rules, redis_conn: Redis, receivers, gitlab):
    runtime = build_runtime(settings, rules, redis_conn)
    runtime.clock = lambda: NOW
    assert runtime.followups is not None
    runtime.followups.retry_intervals = (0, 1)  # two retries, the second through the scheduler
    install(runtime)
    return create_app(settings, connection=redis_conn, rules=rules).test_client()


def work(conn: Redis, until) -> None:
    """Run burst workers with the scheduler until `until()` holds (scheduled retries brought forward)."""
    work_until([Queue(name, connection=conn) for name in QUEUES], until, what="the pipeline's expected state")


def settle(conn: Redis) -> None:
    """Let every queued job run (scheduled reminders far in the future are left alone)."""
    work(conn, lambda: all(Queue(n, connection=conn).count == 0 for n in QUEUES))


def kinds(receiver: HttpReceiver) -> list[str]:
    return [r.json()["blocks"][0]["text"]["text"] for r in receiver.delivered]


def test_opened_incident_notifies_responders_only(pipeline, receivers, redis_conn) -> None:
    """A severity 3 incident is announced to responders and not to executives."""
    assert (
        pipeline.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="o1")).status_code == 202
    )
    settle(redis_conn)
    (message,) = receivers["responders"].delivered
    text = str(message.json())
    assert "Incident declared" in text and "Checkout returns 500 errors" in text and "S3" in text
    assert "http://gitlab.test/group/project/-/issues/23" in text
    assert receivers["executives"].requests == []


def test_escalation_to_critical_notifies_executives(pipeline, receivers, redis_conn, gitlab) -> None:
    """Escalating to severity 1 tells responders and executives, with the new roles."""
    pipeline.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="e1"))
    settle(redis_conn)
    gitlab.issues[(1, 23)]["labels"].append("severity::1")
    pipeline.post("/webhook", data=body("issue.update.severity"), headers=hook_headers(key="e2"))
    settle(redis_conn)
    assert len(receivers["responders"].delivered) == 2
    (executive,) = receivers["executives"].delivered
    text = str(executive.json())
    assert "Incident escalated" in text and "S1" in text and "Communications Manager" in text


def test_flaky_channel_gets_one_delivery_and_others_are_unaffected(pipeline, receivers, redis_conn, gitlab) -> None:
    """Responders answer 500 twice then 200: exactly one delivery; executives get theirs, untouched."""
    receivers["responders"].fail(2)
    gitlab.issues[(1, 23)]["labels"] = ["severity::1"]
    pipeline.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="f1"))
    work(redis_conn, lambda: len(receivers["responders"].delivered) == 1)
    settle(redis_conn)
    assert [r.status for r in receivers["responders"].requests] == [500, 500, 200]
    assert [r.status for r in receivers["executives"].requests] == [200]


def test_dead_channel_fails_visibly_and_delays_nothing(pipeline, receivers, redis_conn, gitlab) -> None:
    """A channel that always fails ends in the failed registry; the other channel and GitLab proceed."""
    receivers["responders"].fail_always()
    gitlab.issues[(1, 23)]["labels"] = ["severity::1"]
    pipeline.post("/webhook", data=body("issue.open.incident"), headers=hook_headers(key="d1"))
    work(redis_conn, lambda: FailedJobRegistry("incident-bot-notify", connection=redis_conn).count == 1)
    assert len(receivers["executives"].delivered) == 1
    assert len(gitlab.bot_notes()) == 1
    (failed,) = FailedJobRegistry("incident-bot-notify", connection=redis_conn).get_job_ids()
    assert failed.startswith("notify-responders-")


def test_redelivery_notifies_nobody_again(pipeline, receivers, redis_conn, gitlab) -> None:
    """The same delivery resent (even with the GitLab writes replayed) tells nobody twice."""
    data = body("issue.open.incident")
    pipeline.post("/webhook", data=data, headers=hook_headers(key="r1"))
    settle(redis_conn)
    assert pipeline.post("/webhook", data=data, headers=hook_headers(key="r1")).json["status"] == "duplicate"
    redis_conn.delete("incident-bot:seen:r1")  # even past the edge's dedupe window
    pipeline.post("/webhook", data=data, headers=hook_headers(key="r1"))
    settle(redis_conn)
    assert len(receivers["responders"].delivered) == 1
    assert len(gitlab.bot_notes()) == 1


def test_confidential_incident_is_redacted(pipeline, receivers, redis_conn, gitlab) -> None:
    """Outbound messages about a confidential incident carry the link and severity, not the title."""
    gitlab.issues[(1, 23)]["confidential"] = True
    pipeline.post("/webhook", data=body("issue.open.confidential"), headers=hook_headers(key="c1"))
    settle(redis_conn)
    (message,) = receivers["responders"].delivered
    text = str(message.json())
    assert "Checkout returns 500 errors" not in text and "Confidential incident" in text
    assert "issues/23" in text and "S3" in text


def test_channel_without_target_is_logged_once_at_start(settings, rules, redis_conn, monkeypatch, caplog) -> None:
    """No target configured: one log line when the worker starts, and nothing is enqueued for it."""
    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_RESPONDERS", raising=False)
    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", raising=False)
    runtime = build_runtime(settings, rules, redis_conn)
    lines = [r.getMessage() for r in caplog.records if "has no target" in r.getMessage()]
    # One line per channel the rules declare (the areas' channels too: rules/areas/), each naming its variable.
    assert len(lines) == len(rules.channels) and "INCIDENT_BOT_CHANNEL_RESPONDERS" in "".join(lines)
    assert all(any(c.target_env in line for line in lines) for c in rules.channels.values())
    assert runtime.followups is not None and dict(runtime.followups.targets) == {}
