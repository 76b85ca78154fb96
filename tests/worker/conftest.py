"""The worker tests' fixtures (the suite's own, tests/conftest.py and tests/indexdb.py, come first)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fakegitlab import FakeGitLab

# The fake GitLab's time in the follow-up tests: their due dates are worked out by hand from it.
FOLLOW_UPS_CLOCK = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture()
def follow_up_clock(fake: FakeGitLab) -> FakeGitLab:
    """The fake GitLab with its clock at 2026-11-27 09:00 UTC (a second more at each write, as GitLab's times move)."""
    fake.clock = FOLLOW_UPS_CLOCK
    return fake
