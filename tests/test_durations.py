"""The one human duration format, as incident comments, the board, the handbook and the reports show it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.durations import human_duration


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (0, "0 min"),
        (0.004, "0 min"),  # under half a second
        (0.01, "1 s"),  # a test's fast cadence
        (0.75, "45 s"),
        (0.995, "1 min"),  # 59.7 s rounds to the minute, not to `60 s`
        (1, "1 min"),
        (45.4, "45 min"),
        (59.6, "1 h 00 min"),
        (90, "1 h 30 min"),
        (1440, "24 h 00 min"),
        (47 * 60 + 59, "47 h 59 min"),
        (48 * 60, "2 d 00 h"),
        (3 * 1440 + 5 * 60 + 59, "3 d 05 h"),
        (-5, "0 min"),  # a clock skew never shows a negative time
    ],
)
def test_human_duration(minutes: float, shown: str) -> None:
    """Seconds under a minute, minutes under an hour, `h MM min` under two days, then `d HH h`."""
    assert human_duration(minutes) == shown


def test_missing_duration_says_what_the_caller_chose() -> None:
    """No value shows the caller's word for it (`—` unless told), as does a value that is no number of minutes."""
    assert human_duration(None) == "—"
    assert human_duration(None, missing="not yet") == "not yet"
    assert human_duration(math.nan) == "—" and human_duration(math.inf, missing="none") == "none"


@given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**12)))
def test_any_number_is_shown(minutes: float | None) -> None:
    """Whatever number of minutes, a short text and no exception."""
    shown = human_duration(minutes)
    assert shown and "-" not in shown
