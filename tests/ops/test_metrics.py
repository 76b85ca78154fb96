"""The operations jobs' metrics: a scheduled reconcile's repairs and GitLab calls show on `/metrics`."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler

from service import metrics
from service.ops.jobs import reconcile_job
from tests.ops import helpers as ops

Sample = tuple[str, tuple[str, ...]]


def scrape(connection: Redis) -> dict[Sample, float]:
    """Every sample of what `/metrics` would answer, by name and label values."""
    text = metrics.exposition(connection, ["incident-bot"])[0].decode()
    return {
        (s.name, tuple(s.labels.values())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }


def test_a_scheduled_reconcile_counts_its_repairs(env, fake, redis_conn, runtime) -> None:
    """An incident only GitLab knows, healed by the scheduled pass: one repair `queued`, its GitLab calls counted."""
    ops.run("setup")
    fake.add_issue(1, 62, labels=["incident"])
    before = scrape(redis_conn)
    cron = CronScheduler(redis_conn, name="metrics-test")
    cron.register(reconcile_job, ops.OPS_QUEUE, interval=600, job_timeout=300)
    assert len(cron.enqueue_jobs()) == 1
    queues = [Queue(name, connection=redis_conn) for name in (ops.OPS_QUEUE, "incident-bot")]
    SimpleWorker(queues, connection=redis_conn).work(burst=True, logging_level="WARNING")
    after = scrape(redis_conn)
    key = ("incident_bot_reconcile_repairs_total", ("queued",))
    assert after.get(key, 0) - before.get(key, 0) == 1
    listed = ("incident_bot_gitlab_requests_total", ("GET", "200"))
    assert after.get(listed, 0) > before.get(listed, 0)  # the pass's own reads of GitLab are counted too
