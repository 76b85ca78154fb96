"""Fixtures for end-to-end tests: a fake GitLab over HTTP, a flushed Redis database, the process stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import test_redis_url
from tests.e2e.harness import Stack
from tests.fakegitlab import FakeGitLab, FakeGitLabServer


@pytest.fixture()
def fake_server() -> Iterator[FakeGitLabServer]:
    """The fake GitLab on a real port of 127.0.0.1, with incident issue 1#23."""
    with FakeGitLabServer() as server:
        server.fake.add_issue(1, 23)
        yield server


@pytest.fixture()
def gitlab(fake_server: FakeGitLabServer) -> FakeGitLab:
    """The model behind the fake server: its issues, notes and recorded calls."""
    return fake_server.fake


@pytest.fixture()
def stack(tmp_path: Path, fake_server: FakeGitLabServer, redis_conn: Redis) -> Iterator[Stack]:
    """Processes are started by the test; all are stopped afterwards and their output printed.

    pytest shows captured output only for failing tests, so passing runs stay quiet.
    """
    processes = Stack(tmp_path, fake_server.url, test_redis_url())
    try:
        yield processes
    finally:
        processes.stop()
        print(processes.output())
