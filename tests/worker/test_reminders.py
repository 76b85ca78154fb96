"""Status-update reminders with the real RQ scheduler and cadences shortened by test rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from service.rules import load_rules
from service.worker import build_runtime, process_delivery
from service.worker.followups import reminder_job_id, reminder_key
from tests.bursts import bring_forward, work_until
from tests.conftest import NOW, body
from tests.rulesdir import TEST_RULES

CADENCE_MINUTES = 0.01  # 0.6 s
LIMIT = 3


@pytest.fixture()
def fast_rules(tmp_path: Path):
    """The shipped rules with a 0.6 s cadence for severity 1 and at most three reminders a series."""
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    settings = yaml.safe_load((folder / "settings.yml").read_text())
    settings["severities"][1]["update_every_minutes"] = CADENCE_MINUTES
    settings["settings"]["reminder_limit"] = LIMIT
    (folder / "settings.yml").write_text(yaml.safe_dump(settings))
    return load_rules(folder)


@pytest.fixture()
def reminding(settings, fast_rules, redis_conn: Redis, fake, monkeypatch):
    from service.worker import install

    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_RESPONDERS", raising=False)
    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", raising=False)
    runtime = build_runtime(settings, fast_rules, redis_conn)
    runtime.clock = lambda: NOW
    install(runtime)
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1"]
    return runtime


def reminders(fake) -> list[str]:
    return [n["body"] for n in fake.bot_notes() if "Status update due" in n["body"]]


def run_scheduler(conn: Redis, until) -> None:
    """Burst workers with the scheduler until `until()` holds; the next reminder is brought forward, not waited for."""
    work_until([Queue("incident-bot-notify", connection=conn)], until, what="the reminders' expected state")


def test_reminders_on_cadence_to_the_incident_manager_and_bounded(reminding, fake, redis_conn) -> None:
    """Severity 1: reminders arrive on the cadence, addressed to the IM, and stop after the limit."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-1"})
    run_scheduler(redis_conn, lambda: len(reminders(fake)) == LIMIT)
    notes = reminders(fake)
    assert all(n.startswith("**Status update due**: @im-alice, severity 1 incidents") for n in notes)
    assert "get a status update every 1 s." in notes[0]  # 0.01 min (0.6 s) in the one duration format
    assert "last automatic reminder" in notes[-1] and "last automatic" not in notes[0]
    queue = Queue("incident-bot-notify", connection=redis_conn)
    assert queue.scheduled_job_registry.count == 0 and queue.count == 0  # the series is over
    assert not bring_forward([queue])  # nothing is left to come, however long one waited
    SimpleWorker([queue], connection=redis_conn).work(burst=True, with_scheduler=True)
    assert len(reminders(fake)) == LIMIT


def test_human_comment_restarts_the_cadence(reminding, fake, redis_conn) -> None:
    """A comment starts a new series; the old series' pending reminder does nothing when it fires."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-1"})
    old = reminder_job_id(1, 23, "open-1", 1)
    process_delivery(body("note.create.incident"), {"delivery_id": "note-1"})
    assert redis_conn.get(reminder_key(1, 23)) is not None
    new = reminder_job_id(1, 23, "note-1", 1)
    run_scheduler(
        redis_conn,
        lambda: Job.fetch(new, connection=redis_conn).is_finished and Job.fetch(old, connection=redis_conn).is_finished,
    )
    assert str(Job.fetch(old, connection=redis_conn).return_value()).startswith("superseded")
    assert Job.fetch(new, connection=redis_conn).return_value() == "reminded (1)"


def test_resolution_stops_reminders(reminding, fake, redis_conn) -> None:
    """A reminder that fires after the incident was closed posts nothing and ends the series."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-1"})
    fake.issues[(1, 23)]["state"] = "closed"
    first = reminder_job_id(1, 23, "open-1", 1)
    run_scheduler(redis_conn, lambda: Job.fetch(first, connection=redis_conn).is_finished)
    assert Job.fetch(first, connection=redis_conn).return_value() == "stopped"
    assert reminders(fake) == [] and redis_conn.get(reminder_key(1, 23)) is None


def test_no_reminders_for_low_severity(reminding, fake, redis_conn) -> None:
    """Severity 3 has no cadence: nothing is scheduled."""
    fake.issues[(1, 23)]["labels"] = ["incident"]
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-3"})
    assert Queue("incident-bot-notify", connection=redis_conn).scheduled_job_registry.count == 0


def test_reminders_stop_when_no_longer_an_incident(reminding, fake, redis_conn) -> None:
    """Someone removes the incident label (and it is not of type Incident): the next reminder ends the series."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-1"})
    fake.issues[(1, 23)]["labels"] = ["severity::1"]
    fake.issues[(1, 23)]["issue_type"] = "issue"
    first = reminder_job_id(1, 23, "open-1", 1)
    run_scheduler(redis_conn, lambda: Job.fetch(first, connection=redis_conn).is_finished)
    assert Job.fetch(first, connection=redis_conn).return_value() == "stopped"
    assert reminders(fake) == []
