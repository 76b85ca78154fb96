"""Fixtures for the chaos suite: a persistent redis-server of the test's own, and the fake GitLab over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import RedisServer, private_redis
from tests.fakegitlab import FakeGitLabServer


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may restart (AOF, fsync per write); never the shared one."""
    with private_redis(tmp_path / "redis", persistent=True) as server:
        yield server


@pytest.fixture()
def fake_server() -> Iterator[FakeGitLabServer]:
    """The fake GitLab on a real port of 127.0.0.1 (issues are added by each test)."""
    with FakeGitLabServer() as server:
        yield server
