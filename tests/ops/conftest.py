"""The operations commands' tests: GitLab is the fake operations API (`FakeOps`) served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakegitlab import FakeGitLabServer
from tests.fakeops import FakeOps


@pytest.fixture()
def server() -> Iterator[FakeGitLabServer]:
    with FakeGitLabServer(FakeOps()) as srv:
        yield srv


@pytest.fixture()
def fake(server: FakeGitLabServer) -> FakeOps:
    """The fake behind the server (overrides the suite's in-process `fake`)."""
    assert isinstance(server.fake, FakeOps)
    return server.fake
