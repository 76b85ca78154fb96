"""Two web and three worker processes on one Redis: each issue's events in order, each delivery applied once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from service.queue import EventQueue
from tests.conftest import body, hook_headers
from tests.e2e.harness import Stack, calls, free_port, wait_until
from tests.fakegitlab import FakeGitLab

pytestmark = pytest.mark.e2e

ISSUES = (23, 24, 25, 26)
# Per issue: the opening, then two edits; only the opening has anything to write.
EVENTS = ("issue.open.incident", "issue.update.title", "issue.update.title")


def post(url: str, data: bytes, key: str) -> requests.Response:
    """POST one delivery to one web process as GitLab would."""
    return requests.post(f"{url}/webhook", data=data, headers=hook_headers(key=key), timeout=10)


def samples(url: str, name: str) -> dict[tuple[str, ...], float]:
    """The samples called `name` on one web process's /metrics, by label values."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    return {
        tuple(s.labels.values()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_two_webs_three_workers_keep_order_and_apply_each_delivery_once(
    stack: Stack, gitlab: FakeGitLab, tmp_path: Path
) -> None:
    """Every delivery sent to both webs: one job each, run in arrival order per issue, each issue declared once."""
    stack.env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")  # every process of the test writes here
    for iid in ISSUES[1:]:
        gitlab.add_issue(1, iid)
    stack.start_web()
    first = stack.url
    stack.start_web()
    webs = [first, stack.url]
    for n in range(3):
        stack.start_worker(f"worker-{n + 1}")
    jobs: dict[int, list[str]] = {iid: [] for iid in ISSUES}
    # Round-robin over the issues, so the three workers always have several issues' events to take at once.
    for step, name in enumerate(EVENTS):
        for iid in ISSUES:
            data, key = body(name, iid=iid, id=10_000 + iid), f"scale-{iid}-{step}"
            answer = post(webs[(iid + step) % 2], data, key)
            assert answer.status_code == 202, answer.text
            jobs[iid].append(answer.json()["job_id"])
            again = post(webs[(iid + step + 1) % 2], data, key)  # GitLab's retry, landing on the other web
            assert again.json()["status"] == "duplicate", again.text
    every = [job_id for ids in jobs.values() for job_id in ids]
    for job_id in every:
        stack.wait_finished(job_id)
    wait_until(stack.idle, what="nothing left queued or running")

    for iid, ids in jobs.items():
        ran = [stack.job(job_id) for job_id in ids]
        for earlier, later in zip(ran, ran[1:], strict=False):
            assert earlier.ended_at is not None and later.started_at is not None
            assert later.started_at >= earlier.ended_at, f"issue {iid}: {later.id} started before {earlier.id} ended"
        assert str(ran[0].return_value()).startswith("applied: "), ran[0].return_value()
        assert [job.return_value() for job in ran[1:]] == ["applied: nothing", "applied: nothing"]
        assert len(gitlab.bot_notes(1, iid)) == 1, f"issue {iid} declared more than once"
    writes = Counter((c.method, c.path) for c in calls(gitlab) if c.is_write)
    for iid in ISSUES:
        assert writes[("PUT", f"/projects/1/issues/{iid}")] == 1
        assert writes[("POST", f"/projects/1/issues/{iid}/notes")] == 1

    # Either web's /metrics sums every process: both webs' gunicorn workers and the three workers.
    sent = len(ISSUES) * len(EVENTS)
    for url in webs:
        deliveries = samples(url, "incident_bot_deliveries_total")
        assert deliveries[("queued", "")] == sent
        assert deliveries[("duplicate", "")] == sent
        assert samples(url, "incident_bot_job_duration_seconds_count")[("process_delivery",)] == sent


def test_a_worker_alone_serves_its_metrics(stack: Stack, gitlab: FakeGitLab, tmp_path: Path) -> None:
    """INCIDENT_BOT_METRICS_BIND: a worker with no web beside it serves /metrics with its jobs and the queue."""
    port = free_port()
    stack.env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    stack.env["INCIDENT_BOT_METRICS_BIND"] = f"127.0.0.1:{port}"
    stack.start_worker()
    queue = EventQueue(stack.connection, stack.queue_name)
    job = queue.enqueue(
        body("issue.open.incident"), {"delivery_id": "alone-1"}, delivery_id="alone-1", issue_key="1:23", actor="alice"
    )
    stack.wait_finished(job.job_id)
    url = f"http://127.0.0.1:{port}"
    jobs = wait_until(lambda: samples(url, "incident_bot_job_duration_seconds_count"), what="the worker's metrics")
    assert jobs[("process_delivery",)] == 1
    assert samples(url, "incident_bot_queue_depth")[(stack.queue_name,)] == 0
    assert samples(url, "incident_bot_gitlab_requests_total")[("PUT", "200")] == 1
    assert samples(url, "incident_bot_open_incidents")[("3",)] == 1  # the index the worker wrote, read back
