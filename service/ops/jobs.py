"""The scheduled operations jobs a worker runs: the reconcile pass and the webhook check.

Both read their settings from the worker's environment when they run (RQ stores a job by dotted
path and arguments, so a scheduled job needs nothing from the process that scheduled it), and use
the job's own Redis connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from redis import Redis
from rq import get_current_job

from .. import metrics
from ..config import Settings
from ..gitlab import BotClient, GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..queue import EventQueue
from ..rules import load_rules
from .config import OpsSettings
from .reconcile import Reconciler, describe, reconcile_periodically
from .watch import check_webhook

log = logging.getLogger("incident_bot.ops")
WEBHOOK_CHECK_SECONDS = 300


def _connection() -> Redis:
    job = get_current_job()
    if job is None:
        raise RuntimeError("an incident-bot scheduled job runs inside an RQ worker")
    return job.connection


def _namespaces(api: OpsGitLab, ops: OpsSettings) -> Iterator[Namespace]:
    """The configured projects and groups, resolved one by one (lazily: a skipped pass asks GitLab nothing)."""
    for kind, paths in (("groups", ops.groups), ("projects", ops.projects)):
        for path in paths:
            try:
                yield api.namespace(kind, path)
            except GitLabError as exc:
                log.error("%s %s skipped: %s", kind[:-1], path, exc)


def reconcile_job() -> str:
    """RQ job, scheduled every `INCIDENT_BOT_RECONCILE_EVERY`: one reconcile pass across all workers per period."""
    connection = _connection()
    settings, ops = Settings.from_env(), OpsSettings.from_env()
    if settings.dry_run:
        return "skipped: dry-run (no GITLAB_TOKEN)"
    if not ops.projects and not ops.groups:
        return "skipped: INCIDENT_BOT_PROJECTS and INCIDENT_BOT_GROUPS are unset"
    api = OpsGitLab(settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout)
    client = BotClient.for_settings(settings, connection)
    queue = EventQueue(connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, keys=settings.keys)
    reconciler = Reconciler(api, client, queue, load_rules(settings.rules_dir), connection)
    repairs = reconcile_periodically(reconciler, _namespaces(api, ops), period=ops.reconcile_every)
    if repairs is None:
        return "skipped: another worker ran this period's pass"
    metrics.reconcile_repairs(repair.outcome for repair in repairs)
    summary = describe(repairs)
    log.info("%s", summary)
    return summary


def webhook_check_job(alert: Callable[[str], None], every_seconds: int = WEBHOOK_CHECK_SECONDS) -> str:
    """RQ job, scheduled every few minutes: `alert` (a module-level function: RQ pickles it by name) is called
    once each time a configured hook stops or starts delivering. With several workers scheduling it, one
    check runs per `every_seconds` (0: every time)."""
    connection = _connection()
    settings, ops = Settings.from_env(), OpsSettings.from_env()
    if settings.dry_run:
        return "skipped: dry-run (no GITLAB_TOKEN)"
    ran = settings.keys.webhook_check_ran
    if every_seconds > 0 and not connection.set(ran, "1", nx=True, ex=max(every_seconds - 5, 1)):
        return "skipped: another worker checked this period"
    api = OpsGitLab(settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout)
    states = []
    for ns in _namespaces(api, ops):
        health = check_webhook(api, ns, ops.public_url or None, connection, alert, settings.keys)
        states.append(f"{ns.path}: {health.state if health else 'unknown'}")
    return "; ".join(states) or "skipped: INCIDENT_BOT_PROJECTS and INCIDENT_BOT_GROUPS are unset"
