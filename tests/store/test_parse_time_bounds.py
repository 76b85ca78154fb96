"""The index reads GitLab's times through the one bounded parser: a time past the supported range is unknown, never an
OverflowError that stops a reindex."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.store.model import parse_time


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-06-01T00:00:00Z"])
def test_a_time_out_of_range_reads_as_unknown(text: str) -> None:
    """GitLab (or a hostile history) answering such a time leaves the field unknown."""
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T09:00:00.000Z", datetime(2026, 1, 5, 9, tzinfo=UTC)),
        ("2026-01-05 09:00:00 UTC", datetime(2026, 1, 5, 9, tzinfo=UTC)),
        ("2026-01-05T10:00:00+01:00", datetime(2026, 1, 5, 9, tzinfo=UTC)),
    ],
)
def test_gitlabs_own_forms_still_read(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.datetimes().map(lambda d: d.isoformat()), st.integers(), st.none()))
def test_any_value_is_a_time_in_range_or_unknown(value: object) -> None:
    """Whatever GitLab's JSON holds there, the answer is None or an aware UTC time the index can store."""
    found = parse_time(value)
    assert found is None or (found.tzinfo is not None and datetime(1970, 1, 1, tzinfo=UTC) <= found)
