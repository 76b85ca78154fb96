"""The `@incident-bot drill` comment as GitLab delivers it, and burst workers run until the drill settles.

Used by the command's tests (tests/handlers/test_drill_command.py) and the drills' (tests/worker/test_drills.py).
"""

from __future__ import annotations

import json
from typing import Any

from redis import Redis
from rq import Queue

from tests.bursts import work_until
from tests.conftest import payload
from tests.fakegitlab import FakeGitLab

QUEUES = ("incident-bot", "incident-bot-notify")


def request(note: str = "@incident-bot drill database-outage", user: str = "alice", uid: int = 7) -> dict[str, Any]:
    """A new comment on issue 1#23, which is no incident (no incident label, type Issue)."""
    data = payload("note.create.incident")
    data["user"] = {**data["user"], "id": uid, "username": user, "name": user.title()}
    data["object_attributes"]["note"] = note
    data["issue"]["labels"] = []
    data["issue"]["type"] = "Issue"
    return data


def as_body(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def settle(conn: Redis, until=None) -> None:
    """Run burst workers (with the scheduler) until `until()` holds, or until both queues are empty."""
    queues = [Queue(name, connection=conn) for name in QUEUES]
    work_until(queues, until or (lambda: all(q.count == 0 for q in queues)), what="the worker's expected state")


def drills(gitlab: FakeGitLab) -> list[dict[str, Any]]:
    return [i for i in gitlab.issues.values() if i["title"].startswith("[DRILL]")]
