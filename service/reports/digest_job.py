"""Running the executive digest: the scheduled RQ job, `incident-bot digest --now`, and that command's parser.

Light on purpose: the worker's scheduler imports `digest_job` and the CLI imports
`add_parsers`, so the digest itself (SQLAlchemy, the report) is imported only when it runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redis import Redis

if TYPE_CHECKING:
    from ..config import Settings
    from ..rules import RuleSet
    from ..store import Store
    from .digest import DigestRun

log = logging.getLogger("incident_bot.digest")
DIGEST_TIMEOUT = 300
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"  # as `incident-bot worker` defaults
LOCK_SECONDS = DIGEST_TIMEOUT  # one run at a time across workers (each worker's scheduler enqueues it)


class DigestError(Exception):
    """A channel or the reporting project refused the digest: RQ retries, the markers keep it to once a week."""


def run_now(
    settings: Settings, rules: RuleSet, connection: Redis, *, store: Store | None = None, now: datetime | None = None
) -> DigestRun | None:
    """Run the digest once (None: another run holds the lock); an index not given is opened for the run."""
    from ..store import open_store  # the digest's modules load when it runs, not with the worker or the CLI
    from .digest import ReportingProject, run_digest

    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if not connection.set(settings.keys.digest_running, now.isoformat(), nx=True, ex=LOCK_SECONDS):
        return None
    store = store or open_store()
    try:
        gitlab = None
        if not settings.dry_run:
            gitlab = ReportingProject(
                settings.gitlab_url,
                settings.gitlab_token,
                connection,
                timeout=settings.gitlab_timeout,
                keys=settings.keys,
            )
        return run_digest(
            store=store, rules=rules, connection=connection, now=now, env=os.environ, gitlab=gitlab, keys=settings.keys
        )
    finally:
        store.engine.dispose()
        connection.delete(settings.keys.digest_running)


def digest_job() -> str:
    """RQ job, enqueued by the worker's scheduler on the rules' digest cron: run the digest; raise if refused."""
    from rq import get_current_job  # as above: loaded when the job runs

    from ..config import Settings
    from ..rules import load_rules

    job = get_current_job()
    settings = Settings.from_env()
    connection = job.connection if job is not None else Redis.from_url(settings.redis_url or DEFAULT_REDIS)
    outcome = run_now(settings, load_rules(settings.rules_dir), connection)
    if outcome is None:
        return "skipped: another digest run is in progress"
    if outcome.failures:
        raise DigestError("; ".join(outcome.failures))
    return _said(outcome)


def _said(outcome: DigestRun) -> str:
    told = ", ".join(outcome.sent) or "no channel"
    already = f" (already told this week: {', '.join(outcome.already)})" if outcome.already else ""
    issue = (
        f"; issue {'opened' if outcome.issue_created else 'updated'}: {outcome.issue_url}" if outcome.issue_url else ""
    )
    return f"digest sent to {told}{already}{issue}"


def add_parsers(sub: Any) -> None:
    """Add `digest` to the CLI's subparsers."""
    p = sub.add_parser("digest", help="the weekly executive digest (scheduled by the worker; --now runs it once)")
    p.add_argument("--now", action="store_true", help="run it now: post to its channels and update the week's issue")
    p.set_defaults(func=cmd_digest)


def cmd_digest(args: argparse.Namespace) -> int:
    """Run the digest once (`--now`), or say when the worker runs it."""
    from croniter import croniter  # as above

    from ..config import Settings
    from ..rules import RulesError, load_rules
    from ..store.cli import open_index_or_exit

    settings = Settings.from_env()
    try:
        rules = load_rules(settings.rules_dir)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        return 2  # a configuration error, as in every command but check-rules
    digest = rules.digest
    if not args.now:
        following = croniter(digest.cron, datetime.now().astimezone()).get_next(datetime)
        print(f"the worker runs the digest on `{digest.cron}` (next {following:%Y-%m-%d %H:%M %Z}); --now runs it now")
        return 0
    from ..store import open_store

    store = open_index_or_exit(open_store)
    from ..trial import redis_for, shown  # REDIS_URL, else a running serve's Redis, else the default

    url, why = redis_for()
    print(f"incident-bot digest: Redis {shown(url)} ({why})", file=sys.stderr)
    connection = Redis.from_url(url)
    outcome = run_now(settings, rules, connection, store=store)
    if outcome is None:
        print("incident-bot digest: another digest run is in progress", file=sys.stderr)
        return 1
    print(_said(outcome))
    for failure in outcome.failures:
        print(f"incident-bot digest: {failure}", file=sys.stderr)
    return 1 if outcome.failures else 0
