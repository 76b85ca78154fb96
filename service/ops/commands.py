"""`incident-bot setup | doctor | reconcile | drill`: argument parsers and commands (wired in by `service.cli`).

The work is imported when a command runs, not when `incident-bot` builds its parser: the other
subcommands (web, worker, check-rules) would otherwise pay about half a second for requests
and RQ on every start.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import ConfigError

if TYPE_CHECKING:
    from redis import Redis

    from ..gitlab.ops import OpsGitLab
    from ..rules import RuleSet

BOT_USER_HELP = "the bot's username, when GITLAB_TOKEN is someone else's (a maintainer's, for the webhook)"


def _api(settings: Settings) -> OpsGitLab:
    from ..gitlab.ops import OpsGitLab

    return OpsGitLab(settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout)


def _redis(settings: Settings, command: str) -> Redis:
    """The Redis of REDIS_URL, else a running serve's (its embedded one), else the default; named on stderr."""
    from ..connection import connect
    from ..trial import redis_for, shown

    url, why = redis_for()
    print(f"incident-bot {command}: Redis {shown(url)} ({why})", file=sys.stderr)
    # Fail fast: a person is waiting for the answer (connect's timeouts); Sentinel and TLS as the worker has them.
    return connect(url)


def _rules(settings: Settings) -> RuleSet:
    from ..rules import RulesError, load_rules

    try:
        return load_rules(settings.rules_dir)
    except RulesError as exc:
        raise ConfigError(exc.report()) from None


UNSET = "incident-bot {command}: GITLAB_TOKEN is unset; set the bot user's token (api scope)"


def _need_token(settings: Settings, command: str, dry_run: bool = False) -> None:
    """No token is a configuration error (exit 2); --dry-run reads GitLab too, so it needs one as well."""
    if not settings.gitlab_token:
        also = " (--dry-run reads GitLab too)" if dry_run else ""
        raise ConfigError(UNSET.format(command=command) + also)


def cmd_setup(args: argparse.Namespace) -> int:
    """Create the labels and the webhook, check the bot's access; print what was done."""
    from .config import OpsSettings
    from .setup import SetupOptions, run_setup
    from .table import Status, has_problem, render

    settings, ops = Settings.from_env(), OpsSettings.from_env()
    _need_token(settings, "setup", args.dry_run)
    project = args.project or (ops.projects[0] if ops.projects and not args.group else None)
    url = args.url or ops.public_url
    if not project and not args.group:
        print("incident-bot setup: say where: --project GROUP/PROJECT (or --group GROUP)", file=sys.stderr)
        return 2
    if not url:
        print("incident-bot setup: say where GitLab should send events: --url https://HOST/webhook", file=sys.stderr)
        return 2
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        print(
            f"incident-bot setup: --url must be an http(s) URL such as https://HOST/webhook, got {url!r}",
            file=sys.stderr,
        )
        return 2
    options = SetupOptions(
        url=url,
        secret=settings.webhook_secret,
        project=project,
        group=args.group,
        dry_run=args.dry_run,
        reset_token=args.reset_token,
        bot_user=args.bot_user,
    )
    rows = run_setup(_api(settings), _rules(settings), options)
    print(render(rows))
    counts = {status: sum(1 for r in rows if r.status is status) for status in Status}
    shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    print(f"\n{shown}" + (" (dry run: nothing written)" if args.dry_run else ""))
    return 1 if has_problem(rows) else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check everything the bot needs; exit 1 when anything fails."""
    from .config import OpsSettings
    from .doctor import DoctorOptions, run_doctor
    from .table import Status, render

    settings, ops = Settings.from_env(), OpsSettings.from_env()
    project = args.project or (ops.projects[0] if ops.projects else None)
    group = args.group or (ops.groups[0] if ops.groups else None)
    options = DoctorOptions(
        project=project, group=group, url=args.url or ops.public_url or None, bot_user=args.bot_user
    )
    from ..trial import index_url, shown  # light: paths and URLs

    print(f"incident-bot doctor: index {shown(index_url())}", file=sys.stderr)
    rows = run_doctor(_api(settings), settings, _redis(settings, "doctor"), options)
    print(render(rows))
    failed = sum(1 for r in rows if r.status is Status.FAIL)
    warned = sum(1 for r in rows if r.status is Status.WARN)
    print(f"\n{failed} failed, {warned} warnings" + ("" if failed else ": the bot would work right now"))
    if not settings.gitlab_token:  # the table says what it could check; no token is a configuration error
        print(UNSET.format(command="doctor"), file=sys.stderr)
        return 2
    return 1 if failed else 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """One reconcile pass now: queue a delivery for every incident the bot is behind on."""
    from ..bounds import parse_duration
    from ..gitlab import BotClient, GitLabError
    from ..queue import EventQueue
    from .config import OpsSettings
    from .reconcile import Reconciler, describe

    settings, ops = Settings.from_env(), OpsSettings.from_env()
    _need_token(settings, "reconcile", args.dry_run)
    try:
        since = parse_duration(args.since) if args.since else None
    except ValueError as exc:
        print(f"incident-bot reconcile: --since {exc}", file=sys.stderr)
        return 2
    projects = args.project or list(ops.projects)
    groups = args.group or list(ops.groups)
    if not projects and not groups:
        print("incident-bot reconcile: say where: --project GROUP/PROJECT (or INCIDENT_BOT_PROJECTS)", file=sys.stderr)
        return 2
    api, connection = _api(settings), _redis(settings, "reconcile")
    reconciler = Reconciler(
        api,
        BotClient.for_settings(settings, connection),
        EventQueue(connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, keys=settings.keys),
        _rules(settings),
        connection,
        dry_run=args.dry_run,
    )
    code = 0
    for kind, paths in (("projects", projects), ("groups", groups)):
        for path in paths:
            try:
                ns = api.namespace(kind, path)
                start = reconciler.clock() - since if since else None
                print(describe(reconciler.run(ns, start)).replace("reconcile:", f"reconcile {ns.path}:", 1))
            except GitLabError as exc:
                print(f"incident-bot reconcile {path}: {exc}", file=sys.stderr)
                code = 1
    return code


def cmd_drill(args: argparse.Namespace) -> int:
    """Open a drill issue of a scenario in a project and queue its declaration; print the issue's URL."""
    from ..gitlab import GitLabError
    from .config import OpsSettings
    from .drill import open_drill, preview, unknown_scenario

    settings, ops = Settings.from_env(), OpsSettings.from_env()
    rules = _rules(settings)
    problem = unknown_scenario(args.scenario, rules)
    if problem:
        print(f"incident-bot drill: {problem}", file=sys.stderr)
        return 2
    project = args.project or (ops.projects[0] if ops.projects else None)
    if not project:
        print("incident-bot drill: say where: --project GROUP/PROJECT (or INCIDENT_BOT_PROJECTS)", file=sys.stderr)
        return 2
    if args.dry_run:
        print(preview(rules, args.scenario, project))
        return 0
    _need_token(settings, "drill")
    from ..queue import EventQueue  # RQ loads only when a drill is really opened

    try:
        connection = _redis(settings, "drill")
        queue: Any = EventQueue(connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, keys=settings.keys)
    except Exception as exc:  # noqa: BLE001 - the drill still opens; reconcile declares it later
        print(f"incident-bot drill: Redis unavailable ({type(exc).__name__}: {exc})", file=sys.stderr)
        queue = None
    try:
        url = open_drill(_api(settings), rules, args.scenario, project, queue)
    except GitLabError as exc:
        print(f"incident-bot drill: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0


def add_parsers(sub: Any) -> None:
    """Add `setup`, `doctor`, `reconcile` and `drill` to the `incident-bot` subcommands."""
    p = sub.add_parser("setup", help="create the labels and the webhook in GitLab, check the bot's access")
    p.add_argument("--project", help="GROUP/PROJECT (default: the first of INCIDENT_BOT_PROJECTS)")
    p.add_argument("--group", help="GROUP: group labels and a group webhook (Premium; Free falls back to the project)")
    p.add_argument("--url", help="where GitLab sends events (default: INCIDENT_BOT_PUBLIC_URL)")
    p.add_argument("--dry-run", action="store_true", help="print what would be done, write nothing")
    p.add_argument("--reset-token", action="store_true", help="send GITLAB_WEBHOOK_SECRET to an existing hook again")
    p.add_argument("--bot-user", help=BOT_USER_HELP)
    p.set_defaults(func=cmd_setup)
    p = sub.add_parser("doctor", help="check whether the bot would work right now (exit 1 on any fail)")
    p.add_argument("--project", help="GROUP/PROJECT (default: the first of INCIDENT_BOT_PROJECTS)")
    p.add_argument("--group", help="GROUP whose webhook delivers (default: the first of INCIDENT_BOT_GROUPS)")
    p.add_argument("--url", help="where the webhook should point (default: INCIDENT_BOT_PUBLIC_URL)")
    p.add_argument("--bot-user", help=BOT_USER_HELP)
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("reconcile", help="queue deliveries for incidents the bot is behind on (missed webhooks)")
    p.add_argument("--project", action="append", help="GROUP/PROJECT, repeatable (default: INCIDENT_BOT_PROJECTS)")
    p.add_argument("--group", action="append", help="GROUP, repeatable (default: INCIDENT_BOT_GROUPS)")
    p.add_argument("--since", help="look back this far (30m, 2h, 1d; default: since the last pass, else 1d)")
    p.add_argument("--dry-run", action="store_true", help="say what is out of date, queue nothing")
    p.set_defaults(func=cmd_reconcile)
    p = sub.add_parser("drill", help="open a drill: a practice incident of a scenario in rules/drills/")
    p.add_argument("scenario", help="the scenario's name (its file in rules/drills/, without .yml)")
    p.add_argument("--project", help="GROUP/PROJECT (default: the first of INCIDENT_BOT_PROJECTS)")
    p.add_argument("--dry-run", action="store_true", help="print the issue that would be opened, open nothing")
    p.set_defaults(func=cmd_drill)
    p = sub.add_parser("follow-ups", help="follow-ups (corrective actions): --check runs the overdue pass now")
    p.add_argument("--check", action="store_true", help="remind owners of overdue follow-ups now (once each)")
    p.set_defaults(func=cmd_follow_ups)


def cmd_follow_ups(args: argparse.Namespace) -> int:
    """`follow-ups --check`: the overdue pass the workers run hourly, now; prints what it did."""
    from .overdue import check_now

    if not args.check:
        print("incident-bot follow-ups: say what to do (--check)", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    _need_token(settings, "follow-ups", False)
    done = check_now(settings, _rules(settings), _redis(settings, "follow-ups"))
    print(done.summary())
    return 1 if done.failures else 0
