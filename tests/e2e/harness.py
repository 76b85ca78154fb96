"""Start, watch and kill the real incident-bot processes; post deliveries; wait on outcomes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.worker import BaseWorker

from service.jobs import PAGE_STEP_FUNC
from service.keys import Keys
from service.queue import notify_queue_name
from tests.conftest import ROOT, SECRET, hook_headers, redis_server_binary
from tests.fakegitlab import Call, FakeGitLab
from tests.rulesdir import TEST_RULES

T = TypeVar("T")
READY_TIMEOUT = 60.0  # a deadline: a cold gunicorn + rules load takes a second, far more on a loaded machine
OUTCOME_TIMEOUT = 60.0  # a deadline, never a speed check: loaded CI machines are slow
STOP_TIMEOUT = 10.0


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid`: with the pid, it names one process even if pids are reused."""
    fields = _stat(pid)
    return fields[19] if fields else None


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every live descendant of `pid` as (pid, start time), read from /proc (Linux)."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:  # None: it exited while we looked
                parents.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        children = parents.get(todo.pop(0), [])
        found += children
        todo += [child for child, _ in children]
    return found


def kill_exact(pid: int, started: str) -> None:
    """SIGKILL `pid` only if it is still the process we saw (a recycled pid belongs to someone else)."""
    if start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = OUTCOME_TIMEOUT,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll `predicate` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(0.02)


def calls(fake: FakeGitLab) -> list[Call]:
    """A snapshot of the fake's calls, taken under its lock (server threads append concurrently)."""
    with fake.lock:
        return list(fake.calls)


def summary(found: list[Call]) -> list[str]:
    """One short line per call (method, path, event UUID) for assertion messages."""
    return [f"{c.method} {c.path} {header(c, 'X-Gitlab-Event-UUID') or ''}".rstrip() for c in found]


def header(call: Call, name: str) -> str | None:
    """A request header of a recorded call, looked up without regard to case."""
    wanted = name.lower()
    return next((v for k, v in call.headers.items() if k.lower() == wanted), None)


@dataclass
class Proc:
    """One started process group and the file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """The process's captured output so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the leader's process group: gunicorn's workers and RQ's scheduler are in it."""
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill_tree(self) -> list[int]:
        """SIGKILL the group and every descendant (a child in a group of its own too)."""
        tree = descendants(self.popen.pid)
        self.kill_group(signal.SIGKILL)
        for pid, started in tree:
            kill_exact(pid, started)
        return [self.popen.pid, *(pid for pid, _ in tree)]


class Stack:
    """The web and worker processes of one test, sharing one Redis database, queue and fake GitLab."""

    def __init__(self, tmp_path: Path, gitlab_url: str, redis_url: str, **env: str):
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.queue_name = f"e2e-{uuid.uuid4().hex[:10]}"
        self.connection = Redis.from_url(redis_url)
        self.procs: list[Proc] = []
        self.port: int | None = None
        base = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_BOT_", "GITLAB_", "REDIS_URL"))}
        self.env = {
            **base,
            "PYTHONUNBUFFERED": "1",
            "GITLAB_URL": gitlab_url,
            "GITLAB_TOKEN": "test-token",
            "GITLAB_WEBHOOK_SECRET": SECRET,
            "REDIS_URL": redis_url,
            "INCIDENT_BOT_QUEUE": self.queue_name,
            "INCIDENT_BOT_RULES": str(TEST_RULES),  # the shipped rotations hold placeholders, not the fake's users
            "INCIDENT_BOT_DATA_DIR": str(tmp_path / "data"),  # the worker's incident index, never in the checkout
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),  # the processes' metric files, not a shared /tmp one
            # Fast recovery: a killed worker's job is retried after seconds, not minutes.
            "INCIDENT_BOT_JOB_MONITORING_INTERVAL": "1",
            "INCIDENT_BOT_HEARTBEAT_SLACK": "2",
            "INCIDENT_BOT_MAINTENANCE_INTERVAL": "2",
            **env,
        }

    # Processes.
    def _spawn(self, name: str, *args: str) -> Proc:
        """Start `python -m service.cli ARGS` in its own session, output to a log file."""
        log = self.tmp_path / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def start_web(self, workers: int = 2) -> Proc:
        """Start gunicorn and wait until /readyz answers 200."""
        self.port = free_port()
        proc = self._spawn("web", "web", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers))

        def ready() -> bool:
            """True once /readyz answers 200; fails fast if the process died."""
            if proc.popen.poll() is not None:
                raise AssertionError(f"web exited with {proc.popen.returncode}:\n{proc.output()}")
            try:
                return requests.get(f"{self.url}/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout=READY_TIMEOUT, what="web /readyz = 200", describe=proc.output)
        return proc

    def start_worker(self, name: str = "worker") -> Proc:
        """Start an RQ worker and wait until it has registered on the deliveries queue."""
        before = {w.name for w in self.workers()}
        proc = self._spawn(name, "worker")

        def registered() -> bool:
            """True once a new worker has registered; fails fast if it died."""
            if proc.popen.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.popen.returncode}:\n{proc.output()}")
            return any(w.name not in before for w in self.workers())

        wait_until(registered, timeout=READY_TIMEOUT, what=f"{name} registered", describe=proc.output)
        return proc

    def workers(self) -> list[BaseWorker]:
        """The RQ workers registered on this stack's deliveries queue."""
        return Worker.all(queue=Queue(self.queue_name, connection=self.connection))

    def kill(self, proc: Proc) -> None:
        """SIGKILL a process, its group and its descendants (as a lost machine would); wait until gone."""
        pids = proc.kill_tree()
        proc.popen.wait(timeout=STOP_TIMEOUT)
        wait_until(lambda: not any(alive(pid) for pid in pids), timeout=STOP_TIMEOUT, what=f"{proc.name} gone")

    def stop(self) -> None:
        """Stop every process: SIGTERM, then SIGKILL what is left of each group."""
        trees = {proc.name: descendants(proc.popen.pid) for proc in self.procs}
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.kill_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            # A child in its own process group may outlive its parent; nothing of the test may survive it.
            proc.kill_group(signal.SIGKILL)
            for pid, started in trees[proc.name]:
                kill_exact(pid, started)
            if proc.popen.poll() is None:
                proc.popen.wait(timeout=STOP_TIMEOUT)
        self.connection.close()

    def output(self) -> str:
        """Every process's captured output, one section each."""
        return "\n".join(f"----- {p.name} (pid {p.popen.pid}) -----\n{p.output()}" for p in self.procs)

    # Deliveries.
    @property
    def url(self) -> str:
        """The web process's base URL."""
        assert self.port is not None, "start_web() first"
        return f"http://127.0.0.1:{self.port}"

    def post(
        self, data: bytes, *, key: str | None = None, event_uuid: str | None = None, event: str = "Issue Hook"
    ) -> requests.Response:
        """POST one delivery to /webhook as GitLab would."""
        extra = {"X-Gitlab-Event-UUID": event_uuid} if event_uuid else {}
        return requests.post(
            f"{self.url}/webhook", data=data, headers=hook_headers(event, key=key, **extra), timeout=10
        )

    def job(self, job_id: str) -> Job:
        """The RQ job of a delivery, fetched now: its job id as answered, or its delivery key (the stack's
        deployment namespaces its job ids, service/keys.py)."""
        if not self.connection.exists(Job.key_for(job_id)):
            job_id = Keys.of_queue(self.queue_name).job_id(job_id)
        return Job.fetch(job_id, connection=self.connection)

    def wait_finished(self, job_id: str, timeout: float = OUTCOME_TIMEOUT) -> Job:
        """Wait until RQ reports the job finished; fail at once, with its traceback, if it failed for good."""

        def finished() -> Job | None:
            """The job when finished, None while pending; raises if it failed."""
            job = self.job(job_id)
            status = job.get_status()
            if status == "failed":
                result = job.latest_result()
                raise AssertionError(f"job {job_id} failed:\n{result.exc_string if result else '?'}")
            return job if status == "finished" else None

        job = wait_until(
            finished,
            timeout=timeout,
            what=f"job {job_id} finished",
            describe=lambda: f"status: {self.job(job_id).get_status()}",
        )
        assert job is not None
        return job

    def idle(self) -> bool:
        """Nothing queued, deferred, scheduled or running for this stack's queue."""
        queue = Queue(self.queue_name, connection=self.connection)
        return (
            queue.count == 0
            and queue.started_job_registry.count == 0
            and queue.deferred_job_registry.count == 0
            and queue.scheduled_job_registry.count == 0
        )

    def settled(self) -> bool:
        """Nothing left of a page that could still send or post: the deliveries' queue idle, nothing queued or
        running on the notifications' queue, and no page step scheduled (a status-update reminder may be: it pages
        nobody). What a test then sees of the page is all there will be, however slow the machine."""
        notify = Queue(notify_queue_name(self.queue_name), connection=self.connection)
        scheduled = [notify.fetch_job(i) for i in notify.scheduled_job_registry.get_job_ids()]
        return (
            self.idle()
            and notify.count == 0
            and notify.started_job_registry.count == 0
            and not any(job is not None and job.func_name == PAGE_STEP_FUNC for job in scheduled)
        )


def accepted(response: requests.Response) -> str:
    """The job id of a delivery the web answered 202 queued."""
    assert response.status_code == 202, f"{response.status_code} {response.text}"
    data: dict[str, Any] = response.json()
    assert data["status"] == "queued", data
    return str(data["job_id"])


class RedisServer:
    """A private redis-server on a free port that a test may stop (SIGTERM or SIGKILL) and start again.

    `persistent` turns on the append-only file with an fsync per write, the configuration under
    which a Redis restart, even a SIGKILL, loses no acknowledged write (README, Guarantees).
    """

    def __init__(self, directory: Path, persistent: bool = False):
        self.port = free_port()
        self.directory = directory
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL of database 0 of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start redis-server and wait until it answers PING (after loading its data)."""
        binary = redis_server_binary()
        durability = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *durability,
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            """True once the server answers PING."""
            try:
                return bool(client.ping())
            except Exception:
                return False

        wait_until(answers, timeout=READY_TIMEOUT, what=f"redis-server on {self.port}")
        client.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop redis-server with `sig` (SIGTERM: a clean shutdown; SIGKILL: a crash) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None


@contextmanager
def private_redis(directory: Path, persistent: bool = False) -> Iterator[RedisServer]:
    """A RedisServer of the caller's alone, started in `directory` for the with-block and stopped after it."""
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(directory, persistent=persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()
