"""`incident-bot reindex`: rebuild the index from GitLab (`add_parsers` wires it into the CLI)."""

from __future__ import annotations

import argparse
import functools
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from service import bounds
from service.errors import ConfigError

MAX_WORKERS = 64  # parallel GitLab readers: more only trips GitLab's rate limit


def duration(text: str) -> timedelta:
    """`30d`, `12h`, `2w`, `90m` as a timedelta, at most a century (argparse type)."""
    return bounds.argument(bounds.duration, "duration")(text)


def add_scope(p: argparse.ArgumentParser) -> None:
    """`--project P | --group G` (an id within the index's range, or a path)."""
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "--project",
        type=bounds.argument(bounds.project, "--project"),
        metavar="P",
        help="a project id or path (group/project)",
    )
    scope.add_argument(
        "--group",
        type=bounds.argument(bounds.group, "--group"),
        metavar="G",
        help="a group path: its projects and its subgroups' projects",
    )


def add_parsers(sub: Any) -> None:
    """Add `reindex` to the CLI's subparsers."""
    p = sub.add_parser("reindex", help="rebuild the incident index from GitLab alone (idempotent)")
    add_scope(p)
    p.add_argument("--since", type=duration, metavar="7d", help="only incidents updated in this window")
    workers = functools.partial(bounds.integer, low=1, high=MAX_WORKERS)
    p.add_argument(
        "--workers",
        type=bounds.argument(workers, "--workers"),
        default=4,
        help=f"parallel GitLab readers (default 4, at most {MAX_WORKERS})",
    )
    p.set_defaults(func=cmd_reindex)


def cmd_reindex(args: argparse.Namespace) -> int:
    """Rebuild the incidents GitLab lists into the index; print how many and how fast."""
    # Deferred: `reindex` imports its work (GitLab client, rules, SQLAlchemy) when it runs, like the ops commands,
    # so building the CLI for every other `incident-bot` command stays fast.
    from service.config import Settings
    from service.gitlab import GitLabError  # deferred: see above
    from service.gitlab.history import GitLabHistory  # deferred: see above
    from service.rules import RulesError, load_rules  # deferred: see above

    from . import open_store  # deferred: see above
    from .observe import vocabulary  # deferred: see above
    from .reindex import reindex  # deferred: see above
    from .reindex_changes import backfill_deployments  # deferred: see above

    settings = Settings.from_env()
    if not settings.gitlab_token:
        print("incident-bot reindex: GITLAB_TOKEN is not set; reindex reads GitLab", file=sys.stderr)
        return 2
    try:
        rules = load_rules(settings.rules_dir)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    source = GitLabHistory(settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout)
    try:
        vocab = vocabulary(rules, source.bot_username())
        store = open_index_or_exit(lambda url: open_store(url, vocab=vocab))
        since = datetime.now(UTC) - args.since if args.since else None
        result = reindex(
            store, source, vocab, project=args.project, group=args.group, since=since, workers=args.workers
        )
        deployed = backfill_deployments(store, source, rules, args.project, args.group, since, args.workers)
    except GitLabError as exc:
        print(f"incident-bot reindex: {exc}", file=sys.stderr)
        return 1
    print(
        f"reindexed {result.incidents} incidents in {result.seconds:.1f} s "
        f"({result.rate:.0f}/s, {source.calls} GitLab calls); {result.forgotten} no longer incidents, forgotten; "
        f"{result.training_records} training records of closed drills written; {result.follow_ups} follow-ups kept; "
        f"{result.causes} confirmed causes written from the bot's confirmations"
    )
    print(deployed)
    return 0


def open_index_or_exit(opener: Any) -> Any:
    """Open the index, or a ConfigError naming the database (password hidden) and the reason in one line."""
    import sqlalchemy as sa  # deferred: SQLAlchemy loads only when a command opens the index

    from service.store import database_url  # deferred: the store's SQLAlchemy names load on first use

    url = database_url()
    try:
        return opener(url)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        shown = sa.make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(f"incident-bot: cannot open the incident index at {shown}: {reason}") from None
