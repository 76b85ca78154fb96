"""Jobs queued or scheduled before an upgrade still run: RQ stores each job's function by its dotted path."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import import_attribute

from service import jobs
from service.config import Settings
from service.incident import read_memory
from service.jobs import NOTIFY_FUNC, PROCESS_FUNC, REMINDER_FUNC
from service.rules import Channel, ChannelKind
from service.worker import make_worker
from service.worker.followups import reminder_key
from tests.conftest import body

# Every function path a job has ever been stored under (deliveries, reminders up to a day ahead, notifications).
OLD_PATHS = ("service.worker.process_delivery", "service.reminders.fire", "service.notify.send_notification")


def run_by_path(redis_conn, path: str, *args: object) -> Job:
    """Enqueue `path` by its string name, as an older release did, and run it with the production worker."""
    queue = Queue("old-paths", connection=redis_conn)
    job = queue.enqueue(path, *args)
    make_worker(Settings(), redis_conn, ["old-paths"]).work(burst=True)
    return Job.fetch(job.id, connection=redis_conn)


def test_jobs_are_still_queued_under_their_old_paths() -> None:
    """New jobs are stored under the same stable names, so a worker of either release can run them."""
    assert (PROCESS_FUNC, REMINDER_FUNC, NOTIFY_FUNC) == OLD_PATHS


def test_a_delivery_queued_under_the_old_path_is_applied(fake, runtime, redis_conn) -> None:
    """`service.worker.process_delivery`: the queued delivery declares the incident in GitLab."""
    job = run_by_path(redis_conn, OLD_PATHS[0], body("issue.open.incident"), {"delivery_id": "old-1"})
    assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    assert str(job.return_value()).startswith("applied:")
    memory = read_memory(fake.bot_notes()[-1]["body"])
    assert memory is not None and "old-1" in memory["deliveries"]


def test_a_reminder_scheduled_under_the_old_path_runs(fake, runtime, redis_conn) -> None:
    """`service.reminders.fire`: a reminder whose series was replaced meanwhile runs and stands down."""
    redis_conn.set(reminder_key(1, 23), '{"token": "newer", "roles": [], "minutes": 30}')
    job = run_by_path(redis_conn, OLD_PATHS[1], 1, 23, "older", 1)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    assert str(job.return_value()).startswith("superseded")
    assert fake.bot_notes() == []


def test_a_notification_queued_under_the_old_path_runs(redis_conn, monkeypatch) -> None:
    """`service.notify.send_notification`: a notification for a channel without a target is skipped, not failed."""
    monkeypatch.delenv("OLD_PATH_TARGET", raising=False)
    channel = Channel("ops", ChannelKind.WEBHOOK, "OLD_PATH_TARGET")
    payload = {
        "channel": {"name": channel.name, "kind": "webhook", "target_env": channel.target_env, "secret_env": None},
        # As an older release stored it: no severity name.
        "message": {"kind": "declared", "title": "Checkout down", "project": "shop/checkout", "iid": 1, "url": "u"},
        "dedupe_key": "old-1",
    }
    job = run_by_path(redis_conn, OLD_PATHS[2], payload)
    assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    assert job.return_value() == "skipped: no target"


def test_a_drill_inject_scheduled_under_its_path_runs(fake, runtime, redis_conn) -> None:
    """`service.worker.injects.post_inject` (scheduled up to a week ahead): posts the inject on an open drill."""
    from service.jobs import INJECT_FUNC  # the name RQ stores with each scheduled inject
    from service.rules.drills import drill_marker

    assert INJECT_FUNC == "service.worker.injects.post_inject"
    fake.issues[(1, 23)].update(labels=["incident", "drill"], description=f"Drill.\n{drill_marker('db')}")
    job = run_by_path(redis_conn, INJECT_FUNC, 1, 23, "db", 0, 5.0, "Error rate now 40% in EU.")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    assert [n["body"] for n in fake.bot_notes()] == ["**Drill inject** (T+5 min): Error rate now 40% in EU."]


# Every stable name `service.jobs` declares, as literal strings: a renamed constant or module fails here.
STABLE_NAMES = {
    "PROCESS_FUNC": "service.worker.process_delivery",
    "ALERT_FUNC": "service.worker.alerts.process_alert",
    "REMINDER_FUNC": "service.reminders.fire",
    "NOTIFY_FUNC": "service.notify.send_notification",
    "INJECT_FUNC": "service.worker.injects.post_inject",
    "RECONCILE_FUNC": "service.ops.jobs.reconcile_job",
    "WEBHOOK_CHECK_FUNC": "service.ops.jobs.webhook_check_job",
    "DIGEST_FUNC": "service.reports.digest_job.digest_job",
    "FOLLOW_UPS_CHECK_FUNC": "service.ops.overdue.follow_ups_check_job",
    "PAGE_FUNC": "service.paging.send.send_page",
    "PAGE_STEP_FUNC": "service.worker.pagestep.page_step",
}


def test_the_one_module_declares_every_stable_name_unchanged() -> None:
    """`service.jobs` holds each job name once, with the value RQ has stored for it all along."""
    declared = {name: getattr(jobs, name) for name in dir(jobs) if name.endswith("_FUNC")}
    assert declared == STABLE_NAMES
    assert sorted(jobs.ALL_FUNCS) == sorted(STABLE_NAMES.values())


@pytest.mark.parametrize("name", sorted(STABLE_NAMES))
def test_every_stable_name_resolves_as_a_worker_would(name: str) -> None:
    """RQ's own resolver (what a worker calls on a stored job) finds a callable under each name."""
    assert callable(import_attribute(getattr(jobs, name)))


def test_the_periodic_jobs_are_registered_under_their_stable_names() -> None:
    """The cron scheduler stores a registered function by its module and name: those are the constants."""
    from service.worker import schedule

    registered = {f"{f.__module__}.{f.__qualname__}" for f in schedule.PERIODIC_FUNCS}
    assert registered == {jobs.RECONCILE_FUNC, jobs.WEBHOOK_CHECK_FUNC, jobs.DIGEST_FUNC, jobs.FOLLOW_UPS_CHECK_FUNC}
    assert callable(import_attribute("service.notify.alerts.alert_responders"))  # the webhook check's pickled argument
