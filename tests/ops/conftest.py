"""The operations commands' tests: GitLab is the fake operations API (`FakeGitLab`) served over real HTTP.

The in-process worker's settings, the bot's environment and a reconciler all point at that server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis

from service.config import Settings
from service.gitlab import BotClient
from service.gitlab.ops import OpsGitLab
from service.ops.reconcile import Reconciler
from service.queue import EventQueue
from service.rules import RuleSet
from service.worker import Runtime
from tests.conftest import test_redis_url
from tests.fakegitlab import FakeGitLab, FakeGitLabServer, ops_fake
from tests.ops.helpers import CLOCK, QUEUE, URL
from tests.rulesdir import TEST_RULES


@pytest.fixture()
def server() -> Iterator[FakeGitLabServer]:
    with FakeGitLabServer(ops_fake()) as srv:
        yield srv


@pytest.fixture()
def fake(server: FakeGitLabServer) -> FakeGitLab:
    """The fake behind the server (overrides the suite's in-process `fake`)."""
    assert isinstance(server.fake, FakeGitLab)
    return server.fake


@pytest.fixture()
def settings(server: FakeGitLabServer) -> Settings:
    """The in-process worker's settings point at the fake GitLab's HTTP server (overrides conftest's)."""
    return Settings(gitlab_url=server.url, gitlab_token="test-token", redis_url=test_redis_url(), rules_dir=TEST_RULES)


@pytest.fixture()
def env(server: FakeGitLabServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a bot pointed at the fake GitLab and the test Redis."""
    for name, value in {
        "GITLAB_URL": server.url,
        "GITLAB_TOKEN": "test-token",
        "GITLAB_WEBHOOK_SECRET": "hook-s3cret",
        "REDIS_URL": test_redis_url(),
        "INCIDENT_BOT_RULES": str(TEST_RULES),
        "INCIDENT_BOT_PROJECTS": "group/project",
        "INCIDENT_BOT_PUBLIC_URL": URL,
        "INCIDENT_BOT_CHANNEL_RESPONDERS": "https://hooks.example.com/r",
        "INCIDENT_BOT_CHANNEL_EXECUTIVES": "https://hooks.example.com/e",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture()
def reconciler(server: FakeGitLabServer, rules: RuleSet, redis_conn: Redis, runtime: Runtime) -> Reconciler:
    """A reconciler on the real queue; `runtime` installs the worker side the job uses."""
    return Reconciler(
        OpsGitLab(server.url, "test-token", timeout=5),
        BotClient(server.url, "test-token", timeout=5, cache=redis_conn),
        EventQueue(redis_conn, QUEUE),
        rules,
        redis_conn,
        clock=lambda: CLOCK,
    )
