"""Values a bounded parser must refuse clearly: the ones issues found at the edges, and Hypothesis strategies.

Shared by the query-string tests (tests/web/test_query_bounds.py) and the command-line ones
(tests/store/test_cli_bounds.py).
"""

from __future__ import annotations

from hypothesis import strategies as st

# The values the issue found, and their neighbours at the edges of datetime and of the index's columns.
EDGES = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59.999999+00:00",
    "9223372036854775808",
    "9223372036854775807",
    "99999999999999999999999",
    "2147483648",
    "-1",
    "0",
    "²",
    "1e9",
    "99999999999d",
]


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


times = st.builds(
    lambda moment, minutes: moment.isoformat(timespec="seconds") + _offset(minutes),
    st.datetimes(),
    st.integers(-(24 * 60 - 1), 24 * 60 - 1),
)
numbers = st.integers(-(2**70), 2**70).map(str)
durations = st.builds(lambda n, unit: f"{n}{unit}", st.integers(0, 10**15), st.sampled_from("mhdwy"))
values = (
    st.sampled_from(EDGES)
    | times
    | st.dates().map(str)
    | numbers
    | durations
    | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
)
