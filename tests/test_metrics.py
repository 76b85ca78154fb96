"""`GET /metrics`: after a known sequence of deliveries, the Prometheus counters equal what was sent."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from service import metrics
from service.errors import ConfigError
from service.keys import Keys
from service.web.app import connect, create_app
from service.web.edge import IgnoreReason
from service.worker import build_runtime, install, make_worker
from tests.conftest import GITLAB, NOW, body, hook_headers, payload
from tests.fakegitlab import FakeGitLab, install_responses
from tests.receivers import HttpReceiver

Sample = tuple[str, tuple[tuple[str, str], ...]]


def scrape(client: FlaskClient) -> dict[Sample, float]:
    """Every sample of `/metrics`, parsed with prometheus-client's own parser."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain")
    found: dict[Sample, float] = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before: dict[Sample, float], after: dict[Sample, float], name: str) -> dict[tuple[str, ...], float]:
    """How much each labelled sample of `name` grew (labels as a tuple of values), zeros left out."""
    grown = {}
    for (sample, labels), value in after.items():
        if sample == name and value != before.get((sample, labels), 0.0):
            grown[tuple(v for _, v in labels)] = value - before.get((sample, labels), 0.0)
    return grown


@pytest.fixture()
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    found = HttpReceiver()
    monkeypatch.setenv("INCIDENT_BOT_CHANNEL_RESPONDERS", found.url)
    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", raising=False)
    yield found
    found.close()


@pytest.fixture()
def gitlab() -> Iterator[FakeGitLab]:
    model = FakeGitLab()
    model.add_issue(1, 23)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")  # the notification receiver is a real server
        install_responses(rsps, model, GITLAB)
        yield model


@pytest.fixture()
def client(settings, rules, redis_conn: Redis, receiver, gitlab) -> FlaskClient:
    runtime = build_runtime(settings, rules, redis_conn)
    runtime.clock = lambda: NOW
    install(runtime)
    return create_app(settings, connection=redis_conn, rules=rules).test_client()


def test_counters_equal_the_deliveries_sent_and_the_work_done(
    client: FlaskClient, settings, redis_conn: Redis, gitlab: FakeGitLab, receiver: HttpReceiver
) -> None:
    """Two queued, one duplicate, three ignored, three rejected; then one worker run: jobs, GitLab calls, 429s."""
    before = scrape(client)
    incident = body("issue.open.incident")
    docs = json.dumps(payload("issue.open.docs")).encode()
    sent = [
        (incident, hook_headers(key="m1"), 202),
        (incident, hook_headers(key="m1"), 200),  # duplicate
        (body("issue.update.title"), hook_headers(key="m2"), 202),
        (docs, hook_headers(key="m3"), 200),  # not an incident
        (incident, hook_headers(event="Push Hook", key="m4"), 200),  # an event the bot does not handle
        (json.dumps(payload("note.create.docs")).encode(), hook_headers(event="Note Hook", key="m5"), 200),
        (incident, {**hook_headers(key="m6"), "X-Gitlab-Token": "wrong"}, 401),
        (incident, {**hook_headers(key="m7"), "X-Gitlab-Token": "wrong"}, 401),
        (b"{not json", hook_headers(key="m8"), 400),
    ]
    for data, headers, status in sent:
        assert client.post("/webhook", data=data, headers=headers).status_code == status
    queued = scrape(client)
    assert delta(before, queued, "incident_bot_deliveries_total") == {
        ("queued", ""): 2,
        ("duplicate", ""): 1,
        ("ignored", "not_incident"): 2,  # an issue and a comment on an issue that is no incident
        ("ignored", "event"): 1,
        ("rejected", "401"): 2,
        ("rejected", "400"): 1,
    }
    # The second event of issue 23 waits behind the first (deferred), so one job is on the queue.
    assert queued[("incident_bot_queue_depth", (("queue", settings.queue_name),))] == 1
    assert queued[("incident_bot_queue_oldest_job_age_seconds", (("queue", settings.queue_name),))] >= 0
    assert queued[("incident_bot_redis_up", ())] == 1

    gitlab.fail("PUT", r"/projects/1/issues/23", 429)  # the session retries it: both attempts are counted
    make_worker(settings, redis_conn).work(burst=True)
    after = scrape(client)
    jobs = delta(queued, after, "incident_bot_job_duration_seconds_count")
    assert jobs == {("process_delivery",): 2, ("send_notification",): 1}
    calls = delta(queued, after, "incident_bot_gitlab_requests_total")
    by_method = Counter(c.method for c in gitlab.calls)
    assert sum(calls.values()) == len(gitlab.calls)  # every request the fake saw, counted once
    assert calls[("PUT", "429")] == 1
    assert sum(v for (method, _), v in calls.items() if method == "PUT") == by_method["PUT"]
    assert delta(queued, after, "incident_bot_notifications_total") == {("responders", "sent"): 1}
    assert len(receiver.delivered) == 1
    assert after[("incident_bot_queue_depth", (("queue", settings.queue_name),))] == 0


def test_webhook_state_from_the_ops_check_is_a_gauge(client: FlaskClient, redis_conn: Redis) -> None:
    """The webhook check's stored state shows as incident_bot_webhook_disabled, 1 for a hook not delivering."""
    redis_conn.set(Keys().hook_state("projects", 1), "temporarily_disabled")
    redis_conn.set(Keys().hook_state("groups", 7), "delivering")
    found = scrape(client)
    name = "incident_bot_webhook_disabled"
    assert found[(name, (("namespace", "projects/1"), ("state", "temporarily_disabled")))] == 1
    assert found[(name, (("namespace", "groups/7"), ("state", "delivering")))] == 0


def test_scrape_answers_when_redis_does_not(settings, rules, receiver) -> None:
    """Redis down: /metrics still answers 200 with the counters and incident_bot_redis_up 0."""
    dead = connect("redis://127.0.0.1:1/0")  # as the app connects: fails fast, no retry backoff
    found = scrape(create_app(settings, connection=dead, rules=rules).test_client())
    assert found[("incident_bot_redis_up", ())] == 0
    assert ("incident_bot_queue_depth", (("queue", settings.queue_name),)) not in found


def test_every_ignore_reason_of_the_edge_is_counted_under_its_code(client: FlaskClient, redis_conn: Redis) -> None:
    """Each reason the edge can ignore a delivery for: its sentence in the answer, its code as the metric's label.

    The codes are a closed set documented in docs/operations.md (header values never become label values).
    """
    merge_request = payload("note.create.incident")
    merge_request["object_attributes"]["noteable_type"] = "MergeRequest"
    system = payload("note.create.incident")
    system["object_attributes"]["system"] = True
    incident = body("issue.open.incident")
    sent = {
        IgnoreReason.OTHER_EVENT: (incident, hook_headers("Push Hook", key="i1"), "event 'Push Hook' is not handled"),
        IgnoreReason.OTHER_OBJECT_KIND: (
            json.dumps({"object_kind": "pipeline"}).encode(),
            hook_headers(key="i2"),
            "object_kind 'pipeline' is not handled",
        ),
        IgnoreReason.COMMENT_ON_OTHER: (
            json.dumps(merge_request).encode(),
            hook_headers("Note Hook", key="i3"),
            "comment on MergeRequest, not on an issue",
        ),
        IgnoreReason.NOT_AN_INCIDENT: (body("issue.open.docs"), hook_headers(key="i4"), "not an incident"),
        IgnoreReason.SYSTEM_NOTE: (json.dumps(system).encode(), hook_headers("Note Hook", key="i5"), "system note"),
        IgnoreReason.OWN_CHANGE: (incident, hook_headers(key="i6"), "the bot's own change"),
    }
    assert set(sent) == set(IgnoreReason)  # a new reason needs its delivery here
    redis_conn.set(Keys().bot_username, "alice")  # the fixtures' actor: the last delivery is the bot's own
    documented = (Path(__file__).parents[1] / "docs" / "operations.md").read_text()
    for code, (data, headers, sentence) in sent.items():
        before = scrape(client)
        answer = client.post("/webhook", data=data, headers=headers)
        assert (answer.status_code, answer.json) == (200, {"status": "ignored", "reason": sentence})
        assert delta(before, scrape(client), "incident_bot_deliveries_total") == {("ignored", code.value): 1}
        assert f"`{code.value}`" in documented


def test_a_second_worker_on_the_metrics_port_carries_on(redis_conn: Redis, caplog: pytest.LogCaptureFixture) -> None:
    """INCIDENT_BOT_METRICS_BIND taken by another worker of the machine: a warning, no crash; a bad value: the fix."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert metrics.serve_http(f"127.0.0.1:{port}", redis_conn, ["incident-bot"]) is None
    assert "another process of this machine serves them" in caplog.text
    with pytest.raises(ConfigError, match="use HOST:PORT or :PORT"):
        metrics.serve_http("127.0.0.1:99999", redis_conn, ["incident-bot"])


FIRST_USE_RACE = """
import sys, threading
from service import metrics

threads, errors = 16, []
start = threading.Barrier(threads)

def count() -> None:
    start.wait()
    try:
        metrics.delivery("rejected", "400")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=count) for _ in range(threads)]
for t in workers:
    t.start()
for t in workers:
    t.join()
print("\\n".join(errors))
sys.exit(1 if errors else 0)
"""


@pytest.mark.parametrize("attempt", range(3))
def test_the_first_deliveries_of_a_threaded_worker_all_count(attempt: int) -> None:
    """gthread workers answer requests in threads: the metrics built at the first use are built once, not per thread.

    A fresh interpreter each time (the metrics are built once per process); before the fix two threads both
    built them and the second's registration raised DuplicateTimeseries, a 500 on /webhook.
    """
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != metrics.DIR_ENV}
    done = subprocess.run([sys.executable, "-c", FIRST_USE_RACE], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
