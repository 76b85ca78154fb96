"""The worker's periodic jobs (reconcile pass, webhook check) and the operations alert they send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue
from rq.cron import CronScheduler

from service.jobs import FOLLOW_UPS_CHECK_FUNC, RECONCILE_FUNC, WEBHOOK_CHECK_FUNC
from service.notify import DeliveryError
from service.notify.alerts import alert_responders
from service.queue import notify_queue_name
from service.worker.schedule import PeriodicJobs
from tests.e2e.harness import wait_until
from tests.receivers import HttpReceiver
from tests.rulesdir import TEST_RULES


@pytest.fixture()
def responders(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    """A real local HTTP receiver standing in for the responders' Slack channel."""
    receiver = HttpReceiver()
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(TEST_RULES))
    monkeypatch.setenv("INCIDENT_BOT_CHANNEL_RESPONDERS", receiver.url)
    yield receiver
    receiver.close()


def test_operations_alert_reaches_the_broadcast_channel_as_plain_text(responders: HttpReceiver) -> None:
    """The webhook check's alert is one Slack message to the responders channel, with mentions made inert."""
    alert_responders("the webhook of group/project is disabled <!channel> @here")
    (sent,) = responders.delivered
    text = sent.json()["text"]
    assert "the webhook of group/project is disabled" in text
    assert "<!channel>" not in text and "@here" not in text


def test_operations_alert_that_a_channel_refuses_is_an_error(responders: HttpReceiver) -> None:
    """A refused alert raises, so the check puts its state back and alerts again on the next run."""
    responders.fail_always(503)
    with pytest.raises(DeliveryError):
        alert_responders("hook disabled")


def test_periodic_jobs_enqueue_reconcile_and_webhook_check_then_stop(redis_conn: Redis) -> None:
    """Started as the worker starts it, the schedule puts the interval jobs (reconcile, webhook check, follow-ups'
    overdue check) on the notifications queue and stops cleanly."""
    jobs = PeriodicJobs(redis_conn, "incident-bot", "test", reconcile_seconds=600)
    queue = Queue(notify_queue_name("incident-bot"), connection=redis_conn)
    jobs.start()
    try:
        wait_until(lambda: len(queue.job_ids) >= 3, what="the interval jobs queued")
        assert {job.func_name for job in queue.jobs} == {RECONCILE_FUNC, WEBHOOK_CHECK_FUNC, FOLLOW_UPS_CHECK_FUNC}
        assert any(s.name == "incident-bot-test" for s in CronScheduler.all(redis_conn))
    finally:
        jobs.stop()
    assert not jobs._thread.is_alive()
    assert not any(s.name == "incident-bot-test" for s in CronScheduler.all(redis_conn))
