"""What several worker tests do: run deliveries with the production worker, deliver a hook in process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from rq.job import Job

from service.changes.hooks import Change, Deployment, FlagChange
from service.queue import EventQueue
from service.rules import RuleSet
from service.store import Store
from service.store.changes import record
from service.worker import process_delivery
from tests.conftest import NOW, body, payload


def run_queued(redis_conn, name: str, deliveries: list[tuple[str, bytes]]) -> list[Job]:
    """Enqueue deliveries of issue 1#23 as the edge does and run them with the production worker, burst."""
    from service.config import Settings
    from service.worker import make_worker

    queue = EventQueue(redis_conn, name)
    for key, data in deliveries:
        queue.enqueue(data, {"delivery_id": key}, delivery_id=key, issue_key="1:23", actor="alice")
    make_worker(Settings(), redis_conn, [name]).work(burst=True)
    return [Job.fetch(key, connection=redis_conn) for key, _ in deliveries]


def send(data: bytes, event: str, key: str) -> str:
    """Through the real job, in process (GitLab is the fake behind `responses`)."""
    return process_delivery(data, {"delivery_id": key, "event_uuid": key})


def on_call(rules: RuleSet, rotation: str) -> str:
    """Who the rotation has on call at the runtime's clock."""
    user = rules.rotations[rotation].on_call(NOW)
    assert user is not None
    return user


# Suspects (issue 19): the fixtures' project (id 1) and its deployments' jobs.
HERE = "gitlabhq/gitlab-test"
JOB = "http://gitlab.test/gitlabhq/gitlab-test/-/jobs/"


def deployed(n: int, minutes: float, status: str = "success", tier: str = "production", pid: int = 1) -> Deployment:
    """Deployment `n`, its status changed `minutes` before NOW (project 1, or 3 `secretgroup/private`)."""
    path = HERE if pid == 1 else "secretgroup/private"
    at = NOW - timedelta(minutes=minutes)
    return Deployment(pid, path, n, status, tier, tier, f"{JOB}{900 + n}", f"sha{n}", f"Change {n}", "dev", at)


def seed_changes(store: Store, changes: Iterable[Change] | None = None) -> None:
    """Record `changes` in the index (default: d1 12 min before, a failed d2, d3 out of the window, a flag)."""
    default: list[Change] = [
        deployed(1, 12),
        deployed(2, 30, status="failed"),
        deployed(3, 25 * 60),
        FlagChange(1, HERE, "new-checkout", True, "ops", NOW - timedelta(minutes=3), 7),
    ]
    for change in default if changes is None else changes:
        record(store.engine, change)


def reopen_incident(fake, project_id: int, iid: int) -> None:
    """Another incident issue in the fake, for a second declaration."""
    fake.add_issue(project_id, iid, labels=["incident"])


def declare_suspects(fake, iid: int = 23, key: str = "d1", confidential: bool = False) -> str:
    """Declare incident `iid` (opened as an incident at NOW) through the real job: the bot's comment."""
    fake.issues[(1, iid)].update(labels=["incident"], confidential=confidential)
    data = body("issue.open.incident", iid=iid, created_at=NOW.isoformat(), confidential=confidential)
    assert process_delivery(data, {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes(1, iid)[-1]["body"])


def cause(fake, ref: str, key: str) -> str:
    """`@incident-bot cause <ref>` on incident 1#23 through the real job: the bot's reply."""
    note = payload("note.create.incident")
    note["object_attributes"].update(note=f"@incident-bot cause {ref}", id=fake.next_id())  # a new comment
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def mr_comments(fake, iid: int, project_id: int = 1) -> list[str]:
    return [str(n["body"]) for n in fake.mr_notes.get((project_id, iid), [])]


def recent_changes(comment: str) -> str:
    """The list in a declaration's "Recent changes" section (its lines up to the next paragraph)."""
    return comment.split("**Recent changes**", 1)[1].split("\n\n")[1]


# Silences (issue 18): a small Alertmanager API v2 at the HTTP boundary, beside the fake GitLab.
ALERTMANAGER = "http://alertmanager.test"


class FakeAlertmanager:
    """The silences of a pretend Alertmanager: create, list, get, expire (what service/alerts/alertmanager.py calls)."""

    def __init__(self) -> None:
        self.silences: dict[str, dict[str, Any]] = {}

    def active(self) -> list[dict[str, Any]]:
        return [s for s in self.silences.values() if s["status"]["state"] == "active"]

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = request.url.removeprefix(f"{ALERTMANAGER}/api/v2")
        found = self.silences.get(path.rsplit("/", 1)[-1])
        if request.method == "POST" and path == "/silences":
            made = {**json.loads(request.body), "id": f"s-{len(self.silences) + 1}", "status": {"state": "active"}}
            self.silences[made["id"]] = made
            return 200, {}, json.dumps({"silenceID": made["id"]})
        if request.method == "GET" and path == "/silences":
            return 200, {}, json.dumps(list(self.silences.values()))
        if found is not None and request.method == "DELETE":
            found["status"]["state"] = "expired"
            return 200, {}, ""
        return (200, {}, json.dumps(found)) if found is not None else (404, {}, '"not found"')


def install_alertmanager(rsps: Any, manager: FakeAlertmanager) -> None:
    """Route every request to ALERTMANAGER through `manager` (the `responses` library, in process)."""
    for method in ("GET", "POST", "DELETE"):
        rsps.add_callback(method, re.compile(re.escape(ALERTMANAGER) + r"/.*"), callback=manager.handle)
