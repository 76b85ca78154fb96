"""Notifications and commands through the real processes: gunicorn web, RQ worker, fake GitLab, local receivers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import body, payload, test_redis_url
from tests.e2e.harness import Stack, accepted, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture()
def receivers() -> Iterator[dict[str, HttpReceiver]]:
    found = {"responders": HttpReceiver(), "executives": HttpReceiver()}
    yield found
    for receiver in found.values():
        receiver.close()


@pytest.fixture()
def notifying(tmp_path: Path, fake_server: FakeGitLabServer, redis_conn: Redis, receivers) -> Iterator[Stack]:
    """Web and one worker whose channels point at the local receivers."""
    stack = Stack(
        tmp_path,
        fake_server.url,
        test_redis_url(),
        INCIDENT_BOT_CHANNEL_RESPONDERS=receivers["responders"].url,
        INCIDENT_BOT_CHANNEL_EXECUTIVES=receivers["executives"].url,
    )
    try:
        stack.start_web()
        stack.start_worker()
        yield stack
    finally:
        stack.stop()
        print(stack.output())


def test_people_hear_about_the_incident_once(notifying: Stack, receivers, gitlab: FakeGitLab) -> None:
    """Opened: responders only; escalated to 1: executives too; a redelivery tells nobody again."""
    accepted(notifying.post(body("issue.open.incident"), key="n-open"))
    wait_until(lambda: receivers["responders"].delivered, what="responders told of the new incident")
    notifying.wait_finished("n-open")
    assert receivers["executives"].requests == []
    (declared,) = receivers["responders"].delivered
    assert "Incident declared: Checkout returns 500 errors" in json.dumps(declared.json())

    with gitlab.lock:  # the fake's server threads read the issue concurrently
        gitlab.issues[(1, 23)]["labels"].append("severity::1")
    accepted(notifying.post(body("issue.update.severity"), key="n-escalate"))
    wait_until(lambda: receivers["executives"].delivered, what="executives told of the escalation")
    wait_until(lambda: len(receivers["responders"].delivered) == 2, what="responders told of the escalation")
    assert "Incident escalated" in json.dumps(receivers["executives"].delivered[0].json())

    resent = notifying.post(body("issue.update.severity"), key="n-escalate")
    assert resent.status_code == 200 and resent.json()["status"] == "duplicate"
    wait_until(notifying.idle, what="queue idle")
    assert len(receivers["responders"].requests) == 2 and len(receivers["executives"].requests) == 1


def test_update_command_is_broadcast(notifying: Stack, receivers, gitlab: FakeGitLab) -> None:
    """`@incident-bot update ...` from a Developer reaches the responders with its text and is quoted in the issue."""
    accepted(notifying.post(body("issue.open.incident"), key="u-open"))
    notifying.wait_finished("u-open")
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = "@incident-bot update Failover complete, watching error rates"
    accepted(notifying.post(json.dumps(note).encode(), key="u-note", event="Note Hook"))
    notifying.wait_finished("u-note")
    wait_until(lambda: len(receivers["responders"].delivered) == 2, what="status update delivered")
    update = json.dumps(receivers["responders"].delivered[-1].json())
    assert "Status update" in update and "Failover complete, watching error rates" in update
    assert "> Failover complete, watching error rates" in gitlab.bot_notes()[-1]["body"]
