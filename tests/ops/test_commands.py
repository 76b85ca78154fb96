"""The `setup`, `doctor` and `reconcile` commands and the scheduled jobs, as a person and a worker run them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.job import Job, JobStatus

from service.config import Settings
from service.errors import ConfigError
from service.jobs import RECONCILE_FUNC, WEBHOOK_CHECK_FUNC
from service.ops.jobs import reconcile_job, webhook_check_job
from service.worker import make_worker
from tests.ops.helpers import OPS_QUEUE, URL, run
from tests.receivers import HttpReceiver


def test_setup_then_doctor_then_setup_again(env, fake, redis_conn, capsys) -> None:
    """The adoption path: setup creates, doctor is happy (exit 0), a second setup writes nothing."""
    assert run("setup", "--project", "group/project", "--url", URL) == 0
    out = capsys.readouterr().out
    assert "created" in out and "label" in out and "webhook" in out
    assert run("doctor") == 0
    assert "the bot would work right now" in capsys.readouterr().out
    writes = len(fake.writes())
    assert run("setup") == 0  # project and URL from INCIDENT_BOT_PROJECTS and INCIDENT_BOT_PUBLIC_URL
    assert len(fake.writes()) == writes
    assert "already right" in capsys.readouterr().out


def test_setup_dry_run_prints_and_writes_nothing(env, fake, capsys) -> None:
    """--dry-run: the table of what would be done, no write, and it says so."""
    assert run("setup", "--dry-run") == 0
    assert fake.writes() == []
    assert "would create" in capsys.readouterr().out


def test_doctor_exits_non_zero_on_a_disabled_hook(env, fake, redis_conn, capsys) -> None:
    """A disabled hook: doctor prints the fail line with the fix and exits 1."""
    run("setup")
    capsys.readouterr()
    fake.disable_hook(fake.all_hooks()[0], permanently=True)
    assert run("doctor") == 1
    out = capsys.readouterr().out
    assert "fail" in out and "Test → Issue events" in out


def test_setup_without_a_token_says_what_to_set(env, monkeypatch) -> None:
    """No GITLAB_TOKEN: a one-line ConfigError naming it (`incident-bot` exits 2 with it: tests/test_exit_codes.py)."""
    monkeypatch.delenv("GITLAB_TOKEN")
    with pytest.raises(ConfigError, match="GITLAB_TOKEN is unset"):
        run("setup")


def test_reconcile_command_queues_and_reports(env, fake, redis_conn, capsys) -> None:
    """`reconcile --since 2h` prints what it queued; run again it queues nothing."""
    fake.add_issue(1, 60, labels=["incident"])
    assert run("reconcile", "--since", "2h") == 0
    out = capsys.readouterr().out
    assert "group/project#60: never handled by the bot → open (queued" in out
    assert Queue("incident-bot", connection=redis_conn).count == 1
    assert run("reconcile", "--since", "2h") == 0
    assert "nothing queued" in capsys.readouterr().out


def test_reconcile_refuses_a_bad_duration(env, capsys) -> None:
    """--since with nonsense: exit 2 and the accepted form."""
    assert run("reconcile", "--since", "soon") == 2
    assert "e.g. 30m" in capsys.readouterr().err


def test_periodic_reconcile_declares_an_incident_gitlab_never_delivered(env, fake, redis_conn, runtime) -> None:
    """The scheduled job, run by a real RQ worker, queues the repair and the same worker applies it."""
    fake.add_issue(1, 61, labels=["incident"])
    Queue(OPS_QUEUE, connection=redis_conn).enqueue(RECONCILE_FUNC)
    Queue(OPS_QUEUE, connection=redis_conn).enqueue(RECONCILE_FUNC)  # a second scheduler firing: skipped
    queues = [Queue(name, connection=redis_conn) for name in (OPS_QUEUE, "incident-bot")]
    SimpleWorker(queues, connection=redis_conn).work(burst=True, logging_level="WARNING")
    assert {"severity::3", "incident::identification"} <= fake.labels(1, 61)
    assert len(fake.bot_notes(1, 61)) == 1


def test_a_scheduled_job_with_a_bad_setting_fails_naming_it(env, redis_conn, monkeypatch) -> None:
    """A bad setting in the worker's environment fails the periodic job with the setting named in its result,
    instead of the job being handed back to its queue as if the worker were stopping."""
    monkeypatch.setenv("INCIDENT_BOT_RECONCILE_EVERY", "soon")
    queue = Queue(OPS_QUEUE, connection=redis_conn)
    queued = queue.enqueue(RECONCILE_FUNC)
    make_worker(Settings(), redis_conn, [OPS_QUEUE]).work(burst=True, logging_level="WARNING")
    job = Job.fetch(queued.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FAILED and queue.count == 0
    result = job.latest_result()
    assert result is not None and "INCIDENT_BOT_RECONCILE_EVERY" in str(result.exc_string)


@pytest.fixture()
def responders(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    monkeypatch.setenv("TEST_ALERT_URL", receiver.url)
    yield receiver
    receiver.close()


def alert(text: str) -> None:
    """A module-level alert (RQ pickles job arguments by name) posting to the test's receiver."""
    requests.post(os.environ["TEST_ALERT_URL"], json={"text": text}, timeout=5).raise_for_status()


def test_scheduled_webhook_check_alerts_once(env, fake, redis_conn, responders) -> None:
    """The webhook check job, run three times by a real worker while the hook is disabled, alerts once."""
    run("setup")
    queue = Queue(OPS_QUEUE, connection=redis_conn)
    queue.enqueue(WEBHOOK_CHECK_FUNC, alert, 0)
    SimpleWorker([queue], connection=redis_conn).work(burst=True, logging_level="WARNING")
    fake.disable_hook(fake.all_hooks()[0])
    for _ in range(3):
        queue.enqueue(WEBHOOK_CHECK_FUNC, alert, 0)
    SimpleWorker([queue], connection=redis_conn).work(burst=True, logging_level="WARNING")
    (sent,) = responders.delivered
    assert "not receiving GitLab events for group/project" in sent.json()["text"]


def test_scheduled_webhook_check_runs_once_per_period_across_workers(env, fake, redis_conn, responders) -> None:
    """Several workers' schedulers firing in the same period: one check asks GitLab, the others skip."""
    run("setup")
    queue = Queue(OPS_QUEUE, connection=redis_conn)
    jobs = [queue.enqueue(WEBHOOK_CHECK_FUNC, alert) for _ in range(3)]
    SimpleWorker([queue], connection=redis_conn).work(burst=True, logging_level="WARNING")
    results = sorted(str(job.return_value()) for job in jobs)
    assert results[0] == "group/project: delivering; shop/checkout: delivering"  # ops/production is project 1 too
    assert results[1:] == ["skipped: another worker checked this period"] * 2


def test_scheduled_webhook_check_covers_the_alert_routes_projects(env, fake, redis_conn, responders) -> None:
    """setup makes the webhook in each project an alert route names; the periodic check watches it there too, and
    reconcile passes over those projects' incidents."""
    run("setup")
    (routed,) = fake.hooks[("projects", 3)]  # shop/checkout, a route's project
    fake.disable_hook(routed, permanently=True)
    queue = Queue(OPS_QUEUE, connection=redis_conn)
    queue.enqueue(WEBHOOK_CHECK_FUNC, alert, 0)
    SimpleWorker([queue], connection=redis_conn).work(burst=True, logging_level="WARNING")
    (sent,) = responders.delivered
    assert "not receiving GitLab events for shop/checkout" in sent.json()["text"]


@pytest.mark.parametrize("url", ["bot.example.com/webhook", "ftp://bot.example.com/webhook", "https:///webhook"])
def test_setup_refuses_a_url_gitlab_could_not_deliver_to(env, fake, capsys, url) -> None:
    """--url must be an http(s) URL with a host: exit 2 naming it, nothing written."""
    assert run("setup", "--url", url) == 2
    assert "--url must be an http(s) URL" in capsys.readouterr().err
    assert fake.writes() == []


def test_rq_cron_schedules_both_jobs_as_the_worker_will(env, fake, redis_conn, runtime, responders) -> None:
    """Registered with RQ's CronScheduler (the wiring the worker gets), both jobs are enqueued and run."""
    run("setup")
    fake.add_issue(1, 62, labels=["incident"])
    fake.disable_hook(fake.all_hooks()[0], permanently=True)
    cron = CronScheduler(redis_conn, name="ops-test")
    cron.register(reconcile_job, OPS_QUEUE, interval=600, job_timeout=300)
    cron.register(webhook_check_job, OPS_QUEUE, args=(alert,), interval=300, job_timeout=120)
    assert len(cron.enqueue_jobs()) == 2
    queues = [Queue(name, connection=redis_conn) for name in (OPS_QUEUE, "incident-bot")]
    SimpleWorker(queues, connection=redis_conn).work(burst=True, logging_level="WARNING")
    assert len(fake.bot_notes(1, 62)) == 1
    assert len(responders.delivered) == 1
