"""One issue's deliveries are applied one at a time, in arrival order, even with two worker processes."""

from __future__ import annotations

import json

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


def test_second_delivery_for_an_issue_waits_for_the_first(stack: Stack, gitlab: FakeGitLab) -> None:
    """Two free workers, the first delivery slowed: the second's calls all follow the first's last write."""
    stack.start_web()
    stack.start_worker("worker-1")
    stack.start_worker("worker-2")
    assert len(stack.workers()) == 2
    # The first delivery's read of the issue is slow: a free second worker would overtake it if it could.
    gitlab.delay[("GET", ISSUE)] = 0.5
    first = stack.post(body("issue.open.incident"), key="first", event_uuid="uuid-first")
    second = stack.post(native_severity_change(), key="second", event_uuid="uuid-second")
    first_job = accepted(first)
    assert second.status_code == 202 and second.json()["after"] == first_job, second.text
    stack.wait_finished(first_job)
    stack.wait_finished(accepted(second))

    got = calls(gitlab)
    by = {uuid: [i for i, c in enumerate(got) if c.is_write and header(c, "X-Gitlab-Event-UUID") == uuid]
          for uuid in ("uuid-first", "uuid-second")}
    assert by["uuid-first"] and by["uuid-second"], summary(got)
    last_first_write = max(by["uuid-first"])
    # Reads carry no event UUID: the second delivery's calls start with its own read of the issue.
    issue_reads = [i for i, c in enumerate(got) if c.method == "GET" and c.path == ISSUE]
    assert len(issue_reads) == 2, summary(got)
    assert issue_reads[1] > last_first_write, summary(got)
    assert min(by["uuid-second"]) > last_first_write, summary(got)
    assert all(i < issue_reads[1] for i in by["uuid-first"]), summary(got)
    # Applied in order: declared at severity 3, then raised to 1 by the person's severity field.
    severities = [c.body["variables"]["severity"] for c in got if c.path == "/api/graphql"]
    assert severities == ["MEDIUM", "CRITICAL"]
    assert "severity::1" in gitlab.labels() and "severity::3" not in gitlab.labels()
    notes = gitlab.bot_notes()
    assert len(notes) == 2 and "## Escalated: severity 3 → 1" in notes[1]["body"]
    wait_until(stack.idle, what="queue idle")
