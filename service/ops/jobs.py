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
from ..rules import RuleSet, load_rules
from .config import OpsSettings
from .labels import alert_projects
from .reconcile import Reconciler, describe, reconcile_periodically
from .watch import check_webhook

log = logging.getLogger("incident_bot.ops")
WEBHOOK_CHECK_SECONDS = 300


def _connection() -> Redis:
    job = get_current_job()
    if job is None:
        raise RuntimeError("an incident-bot scheduled job runs inside an RQ worker")
    return job.connection


def _namespaces(api: OpsGitLab, ops: OpsSettings, rules: RuleSet) -> Iterator[Namespace]:
    """The configured projects and groups, then each project an alert route of rules/alerts.yml opens incidents in
    that they do not cover (setup makes the webhook there too), resolved one by one (lazily: a skipped pass asks
    GitLab nothing)."""
    seen: list[Namespace] = []
    wanted = [("groups", path) for path in ops.groups] + [("projects", path) for path in ops.projects]
    for kind, path in [*wanted, *(("projects", path) for path in alert_projects(rules))]:
        if any(ns.kind == "groups" and path.startswith(ns.path + "/") for ns in seen):
            continue
        try:
            found = api.namespace(kind, path)
        except GitLabError as exc:
            log.error("%s %s skipped: %s", kind[:-1], path, exc)
            continue
        if not any((ns.kind, ns.id) == (found.kind, found.id) for ns in seen):
            seen.append(found)
            yield found


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
    rules = load_rules(settings.rules_dir)
    reconciler = Reconciler(api, client, queue, rules, connection)
    repairs = reconcile_periodically(reconciler, _namespaces(api, ops, rules), period=ops.reconcile_every)
    if repairs is None:
        return "skipped: another worker ran this period's pass"
    metrics.reconcile_repairs(repair.outcome for repair in repairs)
    summary = describe(repairs)
    log.info("%s", summary)
    return summary


def webhook_check_job(alert: Callable[[str], None], every_seconds: int = WEBHOOK_CHECK_SECONDS) -> str:
    """RQ job, scheduled every few minutes: `alert` (a module-level function: RQ pickles it by name) is called
    once each time a hook stops or starts delivering (the configured projects' and groups', and those of the
    projects the alert routes name). With several workers scheduling it, one
    check runs per `every_seconds` (0: every time)."""
    connection = _connection()
    settings, ops = Settings.from_env(), OpsSettings.from_env()
    if settings.dry_run:
        return "skipped: dry-run (no GITLAB_TOKEN)"
    if not ops.projects and not ops.groups:
        return "skipped: INCIDENT_BOT_PROJECTS and INCIDENT_BOT_GROUPS are unset"
    ran = settings.keys.webhook_check_ran
    if every_seconds > 0 and not connection.set(ran, "1", nx=True, ex=max(every_seconds - 5, 1)):
        return "skipped: another worker checked this period"
    api = OpsGitLab(settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout)
    states = []
    for ns in _namespaces(api, ops, load_rules(settings.rules_dir)):
        health = check_webhook(api, ns, ops.public_url or None, connection, alert, settings.keys)
        states.append(f"{ns.path}: {health.state if health else 'unknown'}")
    return "; ".join(states)
