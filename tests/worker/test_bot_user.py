"""The bot's user, asked in the round trip that reads the incident (an hour's first delivery): what fails, fails
the job as `GET /user` alone did; the bot's own change is still ignored; the name is shared for the hour."""

from __future__ import annotations

import json

import pytest
from redis import Redis

from service.gitlab import PermanentGitLabError, TransientGitLabError
from service.worker import Runtime, process_delivery
from tests.conftest import payload
from tests.fakegitlab import BOT, FakeGitLab


def run(actor: str = "alice") -> str:
    data = payload("issue.open.incident")
    data["user"] = {**data["user"], "username": actor}
    return process_delivery(json.dumps(data).encode(), {"delivery_id": "k1", "event_uuid": "uuid-1"})


@pytest.mark.parametrize(("status", "error"), [(500, TransientGitLabError), (401, PermanentGitLabError)])
def test_a_failing_user_read_fails_the_job_and_writes_nothing(
    status: int, error: type[Exception], fake: FakeGitLab, runtime: Runtime
) -> None:
    """`GET /user` failing while the issue and notes are read: the job raises its error (no hang), writes nothing."""
    fake.fail("GET", r"^/user$", status, times=10)
    with pytest.raises(error):
        run()
    assert not fake.writes()
    assert runtime.known_bot_username() is None


def test_the_bots_own_change_is_ignored_when_its_user_is_asked_with_the_state(
    fake: FakeGitLab, runtime: Runtime, redis_conn: Redis
) -> None:
    """The bot's name learnt in the same round as the state: its own change is ignored, the name kept for the hour."""
    assert run(actor=BOT["username"]) == "ignored: own change"
    assert not fake.writes()
    assert runtime.known_bot_username() == BOT["username"]
    users = [c for c in fake.calls if c.path == "/user"]
    assert len(users) == 1
    assert run().startswith("applied")  # the next delivery of the hour does not ask again
    assert len([c for c in fake.calls if c.path == "/user"]) == 1
