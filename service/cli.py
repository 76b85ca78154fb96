"""`incident-bot`: serve, web, worker, the rules tools, and setup/doctor/reconcile in GitLab."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import logs, metrics
from .config import Settings
from .errors import ConfigError
from .knowledge import cli as handbook_command  # light: the rules load when `handbook` runs
from .ops import commands as ops_commands  # light: setup/doctor/reconcile import their work when they run
from .paging import cli as paging_command  # light: the rules load when `paging` runs
from .reports import cli as report_command  # light: SQLAlchemy and pygal load when `report` runs
from .reports import digest_job as digest_command  # light: the digest loads when it runs
from .store import cli as reindex_command  # light: the index opens when `reindex` runs
from .trial import SERVE_CHILD, TRIAL_WARNING, index_url, redis_for, running_serve, shown, trial_index_url

if TYPE_CHECKING:
    from .rules import RuleSet

# Exit codes, the same for every command: 0 ok; 1 a check failed (doctor, check-rules, setup could not do
# something, handbook --check); 2 a usage or configuration error (no GITLAB_TOKEN, a bad setting or rules file).
# Commands import their work (rules, web, worker, simulate, ...) inside the function that runs
# it: every `incident-bot ...` call builds the whole parser, which must stay light.

TRIAL_HELP = "run without GITLAB_WEBHOOK_SECRET, accepting every delivery unverified (local trials only)"
BOARD_TRIAL_HELP = TRIAL_HELP + "; the board is shown to this machine without sign-in"


def _settings() -> Settings:
    return Settings.from_env()


def _load_rules_or_exit(directory: Path) -> RuleSet:
    from .rules import RulesError, load_rules

    try:
        return load_rules(directory)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        raise SystemExit(2) from None  # a configuration error (`check-rules` is the check that exits 1)


REFUSAL = (
    "incident-bot {command}: GITLAB_WEBHOOK_SECRET is not set, so anyone who can reach the receiver could "
    "declare and change incidents.\nSet it to the webhook's secret token, or, for a local trial only, pass "
    "--insecure-local-trial (or set INCIDENT_BOT_LOCAL_TRIAL=1)."
)


def _secret_or_trial(args: argparse.Namespace, settings: Settings) -> bool:
    """`web` and `worker` need a secret unless explicitly run as a local trial; False means refuse."""
    if settings.webhook_secret:
        return True
    if getattr(args, "insecure_local_trial", False) or settings.local_trial:
        if os.environ.get(SERVE_CHILD) != "1":  # serve's children: the parent has said it
            print(TRIAL_WARNING, file=sys.stderr, flush=True)
        return True
    print(REFUSAL.format(command=args.command), file=sys.stderr)
    return False


def cmd_web(args: argparse.Namespace) -> int:
    """Run the receiver under gunicorn."""
    from .web import server

    if args.insecure_local_trial:
        # The app gunicorn builds reads its settings from the environment: the flag makes it a local trial too
        # (the board shown to this machine without sign-in), not only a start without a secret.
        os.environ["INCIDENT_BOT_LOCAL_TRIAL"] = "1"
    settings = _settings()
    _load_rules_or_exit(settings.rules_dir)
    # The same Redis and index as the worker's: REDIS_URL, else a running serve's; a dry-run shows the trial's
    # own index, never the real one. Set in the environment, which the app gunicorn builds reads.
    redis_url, why = redis_for()
    if not settings.redis_url:
        os.environ["REDIS_URL"] = redis_url
    if settings.dry_run:
        os.environ["INCIDENT_BOT_DATABASE_URL"] = trial_index_url()
    if os.environ.get(SERVE_CHILD) != "1":  # serve's banner names them for its children; a log line (JSON logs)
        logging.getLogger("incident_bot.web").info("Redis %s (%s), index %s", shown(redis_url), why, shown(index_url()))
    server.run_gunicorn(args.bind, args.workers or server.default_workers(), settings.read_timeout)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an RQ worker (with its scheduler) for deliveries, notifications and reminders."""
    from .web.app import connect
    from .worker import build_runtime, install, make_worker

    settings = _settings()
    rules = _load_rules_or_exit(settings.rules_dir)
    redis_url, _ = redis_for()  # REDIS_URL, else a running serve's, else the default
    connection = connect(redis_url)
    from .store import open_store  # SQLAlchemy loads at the first applied delivery, not here

    # A dry-run (no GITLAB_TOKEN) indexes into the local trial's own file, never the real index.
    trial = trial_index_url() if settings.dry_run else None
    runtime = build_runtime(settings, rules, connection, open_index=lambda: open_store(trial), trial_index=bool(trial))
    where = trial or index_url()
    install(runtime)
    # Imported and made before the first job, which would otherwise pay for them
    # (the GitLab session's first client costs a few ms).
    from .worker import reminders  # noqa: F401

    if not settings.dry_run:
        runtime.client()
    mode = (
        "dry-run (no GITLAB_TOKEN: plans are logged, nothing is written)" if settings.dry_run else settings.gitlab_url
    )
    print(
        f"incident-bot worker: queue {settings.queue_name}, GitLab {mode}, Redis {shown(redis_url)}, "
        f"index {shown(where)}, a killed worker's event is retried within ~{settings.recovery_seconds}s",
        flush=True,
    )
    worker = make_worker(settings, connection)
    if os.environ.get("INCIDENT_BOT_METRICS_BIND"):  # a machine without a web process: /metrics from the worker
        from .reports.gauges import index_collector  # the index's figures, as the web's /metrics has them

        index = [index_collector(rules, connection, settings.queue_name)]
        metrics.serve_http(os.environ["INCIDENT_BOT_METRICS_BIND"], connection, worker.queue_names(), index)
    from .worker.schedule import start_periodic_jobs  # loads the ops package only for a worker

    periodic = start_periodic_jobs(connection, settings.queue_name, worker.name, digest_cron=rules.digest.cron)
    try:
        worker.work(with_scheduler=True, logging_level=args.log_level)
    finally:
        periodic.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Web and worker in one process group; embedded Redis when REDIS_URL is unset."""
    from . import serve  # the process group's code loads only for serve

    return serve.run(args, _load_rules_or_exit(_settings().rules_dir))


def cmd_check_rules(args: argparse.Namespace) -> int:
    """Validate a rules directory: exit 0 with a summary, or 1 listing every error."""
    from .rules import RulesError, load_rules

    directory = Path(args.dir) if args.dir else _settings().rules_dir
    try:
        rules = load_rules(directory)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    print(rules.summary())
    from .rules.rotation import placeholder_warnings

    for line in placeholder_warnings(rules.rotations.values()):
        print(line, file=sys.stderr)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Print the plan a delivery would produce; no GitLab writes."""
    from .simulate import simulate

    settings = _settings()
    rules = _load_rules_or_exit(Path(args.rules) if args.rules else settings.rules_dir)
    return simulate(Path(args.payload), rules, state_file=Path(args.state) if args.state else None, as_json=args.json)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the rules format (`--alerts`: of rules/alerts.yml)."""
    from .rules.alerts import ALERTS_SCHEMA
    from .rules.schema import RULES_SCHEMA

    print(json.dumps(ALERTS_SCHEMA if getattr(args, "alerts", False) else RULES_SCHEMA, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incident-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, helptext in (
        ("serve", cmd_serve, "web + worker, embedded Redis when REDIS_URL is unset"),
        ("web", cmd_web, "the webhook receiver under gunicorn"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--bind", default=os.environ.get("INCIDENT_BOT_BIND", "127.0.0.1:8080"), help="HOST:PORT")
        p.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("INCIDENT_BOT_WEB_WORKERS", "0")) or None,
            help="gunicorn workers (default: one per core, at least two)",
        )
        p.add_argument("--log-level", default="INFO")
        p.add_argument("--insecure-local-trial", action="store_true", help=BOARD_TRIAL_HELP)
        if name == "serve":
            p.add_argument("--job-workers", type=int, default=int(os.environ.get("INCIDENT_BOT_JOB_WORKERS", "2")))
            p.add_argument("--demo", action="store_true", help="a local trial: seed sample incidents into its index")
        p.set_defaults(func=func)
    p = sub.add_parser("worker", help="an RQ worker for deliveries, notifications and reminders")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--insecure-local-trial", action="store_true", help=TRIAL_HELP)
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("check-rules", help="validate a rules directory")
    p.add_argument("dir", nargs="?")
    p.set_defaults(func=cmd_check_rules)
    p = sub.add_parser("simulate", help="print the plan a delivery would produce")
    p.add_argument("payload")
    p.add_argument("--state", help="JSON file describing the incident's current state")
    p.add_argument("--rules", help="rules directory (default: INCIDENT_BOT_RULES or the shipped rules)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("schema", help="print the JSON Schema of rule files")
    p.add_argument("--alerts", action="store_true", help="the schema of rules/alerts.yml instead")
    p.set_defaults(func=cmd_schema)
    ops_commands.add_parsers(sub)  # setup, doctor, reconcile
    report_command.add_parsers(sub)  # report
    digest_command.add_parsers(sub)  # digest
    reindex_command.add_parsers(sub)  # reindex
    handbook_command.add_parsers(sub)  # handbook
    paging_command.add_parsers(sub)  # paging --simulate
    return parser


def _trial_index_while_a_trial_runs() -> None:
    """`report` beside a running local trial reads the trial's index (and says so); never when a URL is set."""
    running = running_serve()
    if running is None or not running.trial or os.environ.get("INCIDENT_BOT_DATABASE_URL", "").strip():
        return
    os.environ["INCIDENT_BOT_DATABASE_URL"] = running.index_url
    print(f"incident-bot: the local trial's index ({running.index_url}) of serve pid {running.pid}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `incident-bot` command."""
    args = build_parser().parse_args(argv)  # a usage error: argparse exits 2
    try:
        logs.setup(getattr(args, "log_level", "INFO"), os.environ.get("INCIDENT_BOT_LOG_FORMAT") or "text")
        if args.command in ("web", "worker", "serve"):
            # Before the web or worker code loads prometheus_client: it picks multiprocess mode on import. serve's
            # children share its fresh directory; lone web/worker processes of one queue share a fixed one.
            metrics.use_directory(_settings().queue_name, fresh=args.command == "serve")
        if args.command in ("web", "worker") and not _secret_or_trial(args, _settings()):
            return 2
        if args.command == "report":
            _trial_index_while_a_trial_runs()
        return int(args.func(args) or 0)
    except ConfigError as exc:
        # A setting, a rules file or an argument the command refused, in one line: exit 2 (the exit codes above).
        # Library code raises this, never SystemExit: here is the only place it becomes the process's exit.
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # this module's own exits, and a dependency's sys.exit(...)
        if not isinstance(exc.code, str):
            return int(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
