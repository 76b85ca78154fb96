"""One issue's deliveries are applied one at a time, in arrival order, even with two worker processes."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import body, payload
from tests.e2e.harness import Stack, accepted, calls, header, summary, wait_until
from tests.fakegitlab import FakeGitLab

pytestmark = pytest.mark.e2e

ISSUE = "/projects/1/issues/23"


def native_severity_change() -> bytes:
    """An Issue Hook for a person setting GitLab's own severity field to critical (no label change)."""
    data = payload("issue.update.title")
    data["object_attributes"]["severity"] = "critical"
    data["changes"] = {"severity": {"previous": "unknown", "current": "critical"}}
    return json.dumps(data).encode()


class Gate:
    """Holds the fake GitLab's first answer to `GET ISSUE` until released: a job held by a condition, not a sleep."""

    def __init__(self, gitlab: FakeGitLab) -> None:
        self.reached, self.release = threading.Event(), threading.Event()
        self._handle = gitlab.handle
        gitlab.handle = self.handle  # type: ignore[method-assign]  # the server thread calls model.handle

    def handle(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """The fake's own answer; the first read of the issue waits for `release` (bounded, never a hang)."""
        if method == "GET" and urlsplit(url).path.endswith(ISSUE) and not self.reached.is_set():
            self.reached.set()
            self.release.wait(timeout=120)
        return self._handle(method, url, body, headers)


def test_second_delivery_for_an_issue_waits_for_the_first(stack: Stack, gitlab: FakeGitLab) -> None:
    """Two free workers, the first delivery held: the second's calls all follow the first's last write."""
    stack.start_web()
    stack.start_worker("worker-1")
    stack.start_worker("worker-2")
    # Registered is not yet free: wait until both are in their dequeue loop, however slow the machine.
    wait_until(
        lambda: [w.get_state() for w in stack.workers()] == ["idle", "idle"],
        what="two idle workers",
        describe=lambda: str([(w.name, w.get_state()) for w in stack.workers()]),
    )
    gate = Gate(gitlab)
    try:
        # The first delivery's read of the issue is held while the other worker is free: it would overtake.
        first_job = accepted(stack.post(body("issue.open.incident"), key="first", event_uuid="uuid-first"))
        wait_until(gate.reached.is_set, what="the first delivery reading the issue")
        second = stack.post(native_severity_change(), key="second", event_uuid="uuid-second")
        assert second.status_code == 202 and second.json()["after"] == first_job, second.text
        second_job = accepted(second)
        # A free worker, and nothing for it: the other may still be on a periodic job it took at start (the
        # reconcile, webhook and follow-ups passes), so wait for it to be free, then the second is still waiting.
        wait_until(
            lambda: [w.get_state() for w in stack.workers()].count("idle") == 1,
            what="the other worker free",
            describe=lambda: str([(w.name, w.get_state(), w.get_current_job_id()) for w in stack.workers()]),
        )
        assert stack.job(second_job).get_status() == "deferred"
    finally:
        gate.release.set()
    stack.wait_finished(first_job)
    stack.wait_finished(second_job)

    got = calls(gitlab)
    by = {
        uuid: [i for i, c in enumerate(got) if c.is_write and header(c, "X-Gitlab-Event-UUID") == uuid]
        for uuid in ("uuid-first", "uuid-second")
    }
    assert by["uuid-first"] and by["uuid-second"], summary(got)
    last_first_write = max(by["uuid-first"])
    # Reads carry no event UUID: the second delivery's calls start with its own read of the issue.
    issue_reads = [i for i, c in enumerate(got) if c.method == "GET" and c.path == ISSUE]
    assert len(issue_reads) == 2, summary(got)
    assert issue_reads[1] > last_first_write, summary(got)
    assert min(by["uuid-second"]) > last_first_write, summary(got)
    assert all(i < issue_reads[1] for i in by["uuid-first"]), summary(got)
    # Applied in order: declared at severity 3, then raised to 1 by the person's severity field.
    mutations = [c.body["variables"] for c in got if c.path == "/api/graphql"]  # staffing by username goes there too
    severities = [v["severity"] for v in mutations if "severity" in v]
    assert severities == ["MEDIUM", "CRITICAL"]
    assert "severity::1" in gitlab.labels() and "severity::3" not in gitlab.labels()
    notes = gitlab.bot_notes()
    assert len(notes) == 2 and "## Escalated: severity 3 → 1" in notes[1]["body"]
    wait_until(stack.idle, what="queue idle")
