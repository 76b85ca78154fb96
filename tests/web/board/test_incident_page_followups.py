"""The incident page lists the notifications sent (each attempt and its outcome) and the reminder pending."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue

from service.config import Settings
from service.notify.jobs import enqueue_notification, record_outcomes_with
from service.notify.messages import Message, MessageKind
from service.rules import Channel, ChannelKind, RuleSet
from service.store import Store, make_engine
from service.store.followups import pending
from service.web.board import BoardConfig
from service.worker import process_delivery
from service.worker.followups import FollowUps
from service.worker.reminders import fire
from tests.bursts import run_worker
from tests.conftest import body, test_redis_url
from tests.receivers import SECRET_PATH, HttpReceiver

from .conftest import GITLAB, KIOSK_TOKEN, board_app


def kiosk(app: Flask) -> FlaskClient:
    """A client holding the kiosk cookie (kiosks see non-confidential incidents in full)."""
    client = app.test_client()
    assert client.get(f"/board?token={KIOSK_TOKEN}").status_code == 302
    return client


def page_text(client: FlaskClient, path: str) -> str:
    """The incident page's text with tags dropped and whitespace folded, as a reader sees it."""
    answer = client.get(path)
    assert answer.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True)).split())


@pytest.fixture
def token() -> str:
    """A per-test token in the queue's name and every dedupe key, so cleanup finds all their keys."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def queue(token: str) -> Iterator[Queue]:
    """A notification queue of this test's own on the test Redis; its keys are removed afterwards."""
    redis = Redis.from_url(test_redis_url())
    q = Queue(f"test-page-{token}", connection=redis)
    yield q
    for key in redis.scan_iter(f"*{token}*"):
        redis.delete(key)
    redis.srem(Queue.redis_queues_keys, q.key)
    record_outcomes_with(None)  # the recorder is per process: later tests record nothing


def message(kind: str = "declared") -> Message:
    """A notification about incident 1 of the seeded index (acme/ops#1)."""
    return Message(
        kind=MessageKind(kind), title="Checkout errors", project="acme/ops", iid=1, url=f"{GITLAB}/acme/ops/-/issues/1"
    )


def test_page_lists_each_notification_sent_and_each_failed_attempt_with_its_reason(
    store: Store, rules: RuleSet, config: BoardConfig, queue: Queue, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel that takes the message shows `sent`; one answering 503 shows three failed attempts and why."""
    good, dead = HttpReceiver(), HttpReceiver()
    try:
        dead.fail_always(503)
        monkeypatch.setenv("GOOD_URL", good.url)
        monkeypatch.setenv("DEAD_URL", dead.url)
        FollowUps(queue.connection, queue, {}).attach_index(lambda: store)
        enqueue_notification(queue, Channel("responders", ChannelKind.SLACK, "GOOD_URL"), message(), f"{token}-1")
        dead_channel = Channel("executives", ChannelKind.WEBHOOK, "DEAD_URL")
        enqueue_notification(queue, dead_channel, message("escalated"), f"{token}-2", retry_intervals=(0, 0))
        run_worker(queue)
        assert len(good.requests) == 1 and len(dead.requests) == 3
    finally:
        good.close()
        dead.close()
    text = page_text(kiosk(board_app(Settings(gitlab_url=GITLAB), store, rules, config)), "/incidents/acme/ops/1")
    assert "Notifications sent" in text
    # Each row: channel, message kind, outcome, the reason of a failure, the attempt after the first.
    rows = re.findall(r"UTC (\w+) (\w+) (sent|failed)(.*?)(?: \(attempt (\d)\))?(?= \d{4}-\d\d-\d\d | Reminders)", text)
    assert [(channel, kind, outcome, attempt) for channel, kind, outcome, _, attempt in rows] == [
        ("responders", "declared", "sent", ""),
        ("executives", "escalated", "failed", ""),
        ("executives", "escalated", "failed", "2"),
        ("executives", "escalated", "failed", "3"),
    ]
    assert all("503 Service Unavailable" in reason for _, _, outcome, reason, _ in rows if outcome == "failed")
    assert SECRET_PATH not in text  # the channel's URL is a credential: never on the page
    assert "No notification recorded" in page_text(
        kiosk(board_app(Settings(gitlab_url=GITLAB), store, rules, config)), "/incidents/acme/ops/2"
    )


def test_an_index_that_cannot_be_written_never_fails_the_notification(
    tmp_path: Path, queue: Queue, token: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With an index lacking its tables, the message is still delivered once and the job says sent; a warning."""
    broken = Store(make_engine(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"))
    good = HttpReceiver()
    try:
        monkeypatch.setenv("GOOD_URL", good.url)
        FollowUps(queue.connection, queue, {}).attach_index(lambda: broken)
        job = enqueue_notification(queue, Channel("responders", ChannelKind.SLACK, "GOOD_URL"), message(), f"{token}-1")
        assert job is not None
        with caplog.at_level(logging.WARNING, logger="incident_bot.notify"):
            run_worker(queue)
        assert len(good.requests) == 1 and job.return_value() == "sent"
    finally:
        good.close()
    assert any("notification outcome not recorded" in r.getMessage() for r in caplog.records)


def test_page_shows_the_reminder_pending_and_not_once_resolved(
    fake, rules: RuleSet, config: BoardConfig, worker_index: Store
) -> None:
    """Declaring a severity 1 incident schedules a reminder the page shows; resolving it clears it."""
    index = worker_index
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1"]
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-1"})
    due = pending(index.engine, 1, 23)
    assert due is not None and due.number == 1
    client = kiosk(board_app(Settings(gitlab_url=GITLAB), index, rules, config))
    text = page_text(client, "/incidents/1/23")
    when = due.due_at.strftime("%Y-%m-%d %H:%M UTC")
    assert re.search(rf"Status-update reminder 1 due at {when} ?, naming incident-manager or eoc ?\.", text)
    process_delivery(body("issue.close.incident"), {"delivery_id": "close-1"})
    # The pending reminder fires (as RQ's scheduler would run it), finds the incident closed, and stops.
    assert fire(1, 23, "open-1", 1) in ("stopped", "superseded: a newer update or change reset the reminders")
    assert pending(index.engine, 1, 23) is None
    assert "No status-update reminder pending" in page_text(client, "/incidents/1/23")
