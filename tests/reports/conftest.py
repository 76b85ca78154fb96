"""Fixtures of the digest's tests: real local receivers for its channels, the fake GitLab behind a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.receivers import HttpReceiver


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, HttpReceiver]]:
    """Real local HTTP receivers standing in for the executives' and responders' Slack channels."""
    found = {"executives": HttpReceiver(), "responders": HttpReceiver()}
    for name, receiver in found.items():
        monkeypatch.setenv(f"INCIDENT_BOT_CHANNEL_{name.upper()}", receiver.url)
    yield found
    for receiver in found.values():
        receiver.close()


@pytest.fixture
def gitlab() -> Iterator[FakeGitLabServer]:
    """The fake GitLab behind a real local HTTP server (the receivers are real servers too, so no `responses`)."""
    with FakeGitLabServer(FakeGitLab()) as server:
        yield server
