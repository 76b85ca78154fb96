"""The bot's Prometheus metrics, all defined here; the call sites only count.

prometheus_client is imported when the first metric is used, not with this module: it chooses between
in-process and multiprocess values when it is imported, so `PROMETHEUS_MULTIPROC_DIR` must be set before
(`use_directory`, called by the CLI before a process builds anything). With the directory set, every
gunicorn worker and every `incident-bot worker` on the machine writes its own files there and `GET /metrics`
sums them; without it (tests, one process) the values live in the process.

Queue depth, the oldest queued job's age, failed jobs and the webhook state are read from Redis when
`/metrics` is scraped (RedisCollector), so they are right whichever process answers; the index's are too (`extra`).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from redis import Redis
from redis.exceptions import RedisError

from .errors import ConfigError
from .keys import Keys
from .rqstore import enqueued_at, failed_key, queue_key

log = logging.getLogger("incident_bot.metrics")
DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
HOOK_HEALTHY = "delivering"
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class _Metrics:
    """Every metric of the bot (built once per process, after the multiprocess choice is made)."""

    def __init__(self) -> None:
        # Imported here, not at the top: see the module docstring (the multiprocess choice happens on import).
        from prometheus_client import Counter, Histogram

        self.deliveries = Counter(
            "incident_bot_deliveries",
            "Webhook deliveries by outcome (queued, duplicate, ignored, rejected); reason: why ignored, or the "
            "HTTP status of a rejection",
            ["outcome", "reason"],
        )
        self.job_seconds = Histogram(
            "incident_bot_job_duration_seconds", "Time a worker spent on one job, by job", ["job"], buckets=JOB_BUCKETS
        )
        self.gitlab = Counter(
            "incident_bot_gitlab_requests",
            "GitLab API responses by method and status, each attempt counted (the GitLab session retries 429 and 5xx; "
            "status 'error': no answer)",
            ["method", "status"],
        )
        self.notifications = Counter(
            "incident_bot_notifications", "Notification jobs by channel and outcome", ["channel", "outcome"]
        )
        self.reminders = Counter("incident_bot_reminders", "Status-update reminders fired, by outcome", ["outcome"])
        self.repairs = Counter(
            "incident_bot_reconcile_repairs", "Incidents a scheduled reconcile found out of date", ["outcome"]
        )
        self.alerts = Counter("incident_bot_alerts", "Alert notifications by source and outcome", ["source", "outcome"])
        self.follow_up_reminders = Counter(
            "incident_bot_follow_up_reminders",
            "Follow-up reminders posted by the overdue pass, by kind (overdue: naming the owner; escalated: naming "
            "the incident manager too; unowned: a follow-up without owner named in the review)",
            ["kind"],
        )


_metrics: _Metrics | None = None
_building = threading.Lock()


def _get() -> _Metrics:
    """The process's metrics, built at the first use; once, though a threaded web worker's requests race to it."""
    global _metrics
    if _metrics is None:
        with _building:
            if _metrics is None:
                _metrics = _Metrics()
    return _metrics


def default_directory(queue_name: str) -> Path:
    """Where the processes of one queue on this machine share their metric files when none is set."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"incident-bot-metrics-{uid}-{queue_name}"


def use_directory(queue_name: str, *, fresh: bool = False) -> str:
    """Set PROMETHEUS_MULTIPROC_DIR for this process and its children unless set; returns it.

    `fresh` (serve): a new empty directory of its own, since serve starts every process that writes there.
    """
    current = os.environ.get(DIR_ENV)
    if not current:
        current = tempfile.mkdtemp(prefix="incident-bot-metrics-") if fresh else str(default_directory(queue_name))
        os.environ[DIR_ENV] = current
    Path(current).mkdir(parents=True, exist_ok=True)
    return current


def process_dead(pid: int) -> None:
    """A gunicorn worker exited: drop its live-gauge files (gunicorn's child_exit hook)."""
    if os.environ.get(DIR_ENV):
        # Imported here: see the module docstring.
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


_delivery_children: dict[tuple[str, str], Any] = {}


def delivery(outcome: str, reason: str = "") -> None:
    """Count one webhook delivery: queued, duplicate, ignored (reason: its IgnoreReason), rejected (its HTTP status)."""
    # The edge's hot path: the labelled child is looked up once (a forked worker's values re-open their files).
    child = _delivery_children.get((outcome, reason))
    if child is None:
        child = _delivery_children[(outcome, reason)] = _get().deliveries.labels(outcome, reason)
    child.inc()


def alert(source: str, outcome: str) -> None:
    """Count one alert notification at the edge: queued, spooled, duplicate, rejected (its HTTP status)."""
    _get().alerts.labels(source, outcome).inc()


def gitlab_response(response: Any, *args: Any, **kwargs: Any) -> None:
    """A requests response hook: count the GitLab answer by method and status."""
    _get().gitlab.labels(response.request.method, str(response.status_code)).inc()


def gitlab_unanswered(method: str, exc: Exception) -> None:
    """Count a GitLab call that got no answer (connection refused, timeout: requests' errors are OSErrors)."""
    if isinstance(exc, OSError):  # an HTTP error status was already counted by the response hook
        _get().gitlab.labels(method.upper(), "error").inc()


def job_label(job: Any) -> str:
    """A job's label: its function's own name (`process_delivery`), or `unknown` when its data is unreadable."""
    try:
        return str(job.func_name).rpartition(".")[2]
    except Exception:  # noqa: BLE001
        # A job RQ cannot deserialize still runs (and fails) in perform_job; the timer must not raise first.
        return "unknown"


@contextmanager
def job_timer(job: str) -> Iterator[None]:
    """Observe the time the block took as one `job` in the job-duration histogram (failed jobs included)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _get().job_seconds.labels(job).observe(time.perf_counter() - start)


def notification(channel: str, outcome: str) -> None:
    """Count one notification job's outcome (sent, already_sent, no_target, failed, misconfigured)."""
    _get().notifications.labels(channel, outcome).inc()


def reminder(outcome: str) -> None:
    """Count one reminder that fired (posted, stopped, superseded, dry_run)."""
    _get().reminders.labels(outcome).inc()


def follow_up_reminder(kind: str) -> None:
    """Count one follow-up reminder posted (overdue, escalated, unowned)."""
    _get().follow_up_reminders.labels(kind).inc()


def reconcile_repairs(outcomes: Iterable[str]) -> None:
    """Count one reconcile pass's repairs by outcome (queued, deferred, duplicate, not checked)."""
    for outcome in outcomes:
        _get().repairs.labels(outcome).inc()


class RedisCollector:
    """Queue depth, oldest queued job's age, failed jobs and webhook state, read from Redis at scrape time."""

    def __init__(self, connection: Redis, queue_names: list[str]):
        self.connection = connection
        self.queue_names = queue_names

    def collect(self) -> Iterator[Any]:
        """The gauges; `incident_bot_redis_up` 0 (and nothing else) when Redis does not answer."""
        # Imported here: see the module docstring.
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("incident_bot_redis_up", "1 when Redis answered this scrape")
        try:
            families = self._read(GaugeMetricFamily)
        except RedisError:
            families = []  # `up` 0 and nothing else
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families

    def _read(self, family: Any) -> list[Any]:
        depth = family("incident_bot_queue_depth", "Jobs waiting on the queue", labels=["queue"])
        oldest = family(
            "incident_bot_queue_oldest_job_age_seconds", "Age of the oldest job waiting on the queue", labels=["queue"]
        )
        failed = family("incident_bot_failed_jobs", "Jobs in the queue's failed registry", labels=["queue"])
        disabled = family(
            "incident_bot_webhook_disabled",
            "1 when the last webhook check found the namespace's hook not delivering (state label)",
            labels=["namespace", "state"],
        )
        with self.connection.pipeline(transaction=False) as pipe:
            for name in self.queue_names:
                pipe.llen(queue_key(name))
                pipe.lindex(queue_key(name), 0)
                pipe.zcard(failed_key(name))
            answers = pipe.execute()
        heads: dict[str, str] = {}
        for i, name in enumerate(self.queue_names):
            count, head, failures = answers[3 * i : 3 * i + 3]
            depth.add_metric([name], count)
            failed.add_metric([name], failures)
            if head is not None:
                heads[name] = head.decode() if isinstance(head, bytes) else str(head)
        now = time.time()
        for name in self.queue_names:
            since = enqueued_at(self.connection, heads[name]) if name in heads else None
            oldest.add_metric([name], max(now - since, 0.0) if since is not None else 0.0)
        keys = Keys.of_queue(self.queue_names[0] if self.queue_names else "")  # the webhook check's, per deployment
        for key in self.connection.scan_iter(match=keys.hook_state_pattern, count=100):
            text = key.decode() if isinstance(key, bytes) else str(key)
            raw = self.connection.get(key)
            state = raw.decode() if isinstance(raw, bytes) else str(raw)
            namespace = "/".join(text.split(":")[-2:])
            disabled.add_metric([namespace, state], 0 if state == HOOK_HEALTHY else 1)
        return [depth, oldest, failed, disabled]


def registry(connection: Redis, queue_names: list[str], extra: Iterable[Any] = ()) -> Any:
    """A registry of every process's counters (multiprocess) or this one's, the Redis gauges, then `extra`."""
    # Imported here: see the module docstring.
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, values

    _get()  # the families exist (at zero) even before this process counted anything
    found = CollectorRegistry()
    # The mode prometheus_client chose on import, not the variable now: set later, it changes nothing here.
    if values.ValueClass is not values.MutexValue:
        multiprocess.MultiProcessCollector(found)
    else:
        found.register(_Forward(REGISTRY))
    for collector in (RedisCollector(connection, queue_names), *extra):
        found.register(collector)
    return found


def exposition(connection: Redis, queue_names: list[str], extra: Iterable[Any] = ()) -> tuple[bytes, str]:
    """The body and content type of `GET /metrics`: every process's counters, the Redis gauges, then `extra`."""
    # Imported here: see the module docstring.
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry(connection, queue_names, extra)), CONTENT_TYPE_LATEST


def serve_http(
    bind: str, connection: Redis, queue_names: list[str], extra: Iterable[Any] = ()
) -> tuple[str, int] | None:
    """Serve `/metrics` from a thread at `bind` (`HOST:PORT`, `:PORT` for every interface): a worker-only machine's."""
    # Imported here: see the module docstring.
    from prometheus_client import start_http_server

    host, _, port = bind.rpartition(":")
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError(f"incident-bot: INCIDENT_BOT_METRICS_BIND is {bind!r}; use HOST:PORT or :PORT")
    addr = host.strip("[]") or "0.0.0.0"  # noqa: S104 - `:PORT` asks for every interface, explicitly
    try:
        server, _thread = start_http_server(int(port), addr=addr, registry=registry(connection, queue_names, extra))
    except OSError as exc:
        # Several workers of one machine share the files: whichever bound the port serves them all.
        log.warning("metrics not served at %s here (%s); another process of this machine serves them", bind, exc)
        return None
    return str(server.server_address[0]), int(server.server_address[1])


class _Forward(NamedTuple):
    """Another registry's metrics, collected into this scrape's registry."""

    source: Any

    def collect(self) -> Iterator[Any]:
        yield from self.source.collect()
