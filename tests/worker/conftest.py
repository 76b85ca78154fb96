"""The worker tests' fixtures (the suite's own, tests/conftest.py and tests/indexdb.py, come first)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses

from service.worker import Runtime
from tests.conftest import GITLAB
from tests.fakegitlab import FakeGitLab, install_responses
from tests.worker.helpers import ALERTMANAGER, FakeAlertmanager, install_alertmanager

# The fake GitLab's time in the follow-up tests: their due dates are worked out by hand from it.
FOLLOW_UPS_CLOCK = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture()
def follow_up_clock(fake: FakeGitLab) -> FakeGitLab:
    """The fake GitLab with its clock at 2026-11-27 09:00 UTC (a second more at each write, as GitLab's times move)."""
    fake.clock = FOLLOW_UPS_CLOCK
    return fake


@pytest.fixture()
def silencing(runtime: Runtime) -> Iterator[tuple[FakeGitLab, FakeAlertmanager]]:
    """The fake GitLab and a fake Alertmanager behind `responses`; the worker's INCIDENT_BOT_ALERTMANAGER_URL set."""
    gitlab, manager = FakeGitLab(), FakeAlertmanager()
    runtime.settings = replace(runtime.settings, alertmanager_url=ALERTMANAGER)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_responses(rsps, gitlab, GITLAB)
        install_alertmanager(rsps, manager)
        yield gitlab, manager
