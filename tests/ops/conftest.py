"""The operations commands' tests: GitLab is the fake operations API (`FakeGitLab`) served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakegitlab import FakeGitLab, FakeGitLabServer, ops_fake


@pytest.fixture()
def server() -> Iterator[FakeGitLabServer]:
    with FakeGitLabServer(ops_fake()) as srv:
        yield srv


@pytest.fixture()
def fake(server: FakeGitLabServer) -> FakeGitLab:
    """The fake behind the server (overrides the suite's in-process `fake`)."""
    assert isinstance(server.fake, FakeGitLab)
    return server.fake
