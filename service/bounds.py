"""One bounded parser for the times, durations and numbers people and tools hand the bot.

Query strings (the API, the board, its search and incident pages), the command line (`report`,
`reindex`) and the times of a webhook body all go through these functions. Each returns a value
inside the range the rest of the code can compute with and the index can store, or raises
`OutOfBounds` naming the parameter: never an OverflowError, an integer the database refuses,
or a date that cannot be converted to UTC.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

# Times: from the epoch to the year 9998. GitLab has no earlier time, and a year of headroom below
# datetime's maximum keeps every window and `+ 1 day` computed from one of them representable.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive
TIME_RANGE = "between 1970-01-01 and 9998-12-31 (UTC)"
# Durations back from now: a century at most (so `now - duration` stays well inside the range above).
MAX_DURATION = timedelta(days=36_525)
# GitLab ids are bigint columns; iids are integer columns.
MAX_ID = 2**63 - 1
MAX_IID = 2**31 - 1
MAX_TEXT = 64  # characters of a time, duration or number: anything longer is none of them

_DIGITS = re.compile(r"[0-9]{1,20}")
_DURATION = re.compile(r"\s*([0-9]{1,12})\s*([mhdw])\s*")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PATH = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}")
T = TypeVar("T")


class OutOfBounds(ValueError):
    """A parameter that is not a value of its kind, or one outside its range: "`name` must be `what`"."""

    def __init__(self, name: str, what: str, given: str):
        super().__init__(f"{name} must be {what}")
        self.name = name
        self.what = what
        self.given = given[:MAX_TEXT]


def integer(text: str, name: str, low: int = 1, high: int = MAX_ID) -> int:
    """A whole number written in ASCII digits, from `low` to `high`."""
    what = f"a whole number from {low} to {high}"
    stripped = text.strip()
    if not _DIGITS.fullmatch(stripped) or not low <= int(stripped) <= high:
        raise OutOfBounds(name, what, text)
    return int(stripped)


def project(text: str, name: str = "project") -> str:
    """A project id (1 to 2^63-1) or a project path (`group/project`), as given."""
    stripped = text.strip()
    what = f"a project id (1 to {MAX_ID}) or a path (letters, digits, _ . - /)"
    if stripped.isascii() and stripped.isdigit():
        if len(stripped) > 19 or not 1 <= int(stripped) <= MAX_ID:
            raise OutOfBounds(name, what, text)
        return str(int(stripped))
    if not _PATH.fullmatch(stripped):
        raise OutOfBounds(name, what, text)
    return stripped


def group(text: str, name: str = "group") -> str:
    """A group path (`group` or `group/subgroup`)."""
    stripped = text.strip()
    if not _PATH.fullmatch(stripped):
        raise OutOfBounds(name, "a group path (letters, digits, _ . - /)", text)
    return stripped


def moment(text: str, name: str) -> datetime:
    """A date (midnight UTC), an ISO time (UTC when it has no offset) or GitLab's `2026-01-05 09:00:00 UTC`."""
    value = parse_time(text)
    if value is None:
        raise OutOfBounds(
            name, f"a date (YYYY-MM-DD) or an ISO timestamp such as 2026-11-01T08:00:00Z, {TIME_RANGE}", text
        )
    return within(value, name, text)


def day(text: str, name: str) -> datetime:
    """A calendar date `YYYY-MM-DD`, as midnight UTC."""
    try:
        value = date.fromisoformat(text.strip()) if len(text) <= MAX_TEXT else None
    except ValueError:
        value = None
    if value is None or len(text.strip()) != 10:
        raise OutOfBounds(name, f"a date such as 2026-01-31, {TIME_RANGE}", text)
    return within(datetime(value.year, value.month, value.day, tzinfo=UTC), name, text)


def duration(text: str, name: str) -> timedelta:
    """`30d`, `12h`, `2w` or `90m`: more than nothing, at most a century."""
    match = _DURATION.fullmatch(text) if len(text) <= MAX_TEXT else None
    what = f"a duration such as 30d, 12h, 2w or 90m, from 1m to {MAX_DURATION.days}d"
    if match is None or int(match.group(1)) == 0:
        raise OutOfBounds(name, what, text)
    count = int(match.group(1))
    if count > MAX_DURATION / timedelta(**{_UNITS[match.group(2)]: 1}):
        raise OutOfBounds(name, what, text)
    return timedelta(**{_UNITS[match.group(2)]: count})


def parse_time(text: object) -> datetime | None:
    """A time as GitLab and people write it, aware and in UTC; None when it is no time or has no UTC equivalent.

    The forms the index reads (`store.model.parse_time`): ISO 8601 with `Z` or an offset, a bare date,
    and the hooks' `2026-01-05 09:00:00 UTC`.
    """
    found = _read(text)
    return found if isinstance(found, datetime) else None


def out_of_range(text: object) -> bool:
    """Whether `text` reads as a time (in a form `parse_time` knows) outside the supported range.

    A string that is no time at all is not out of range: the index reads it as unknown.
    """
    found = _read(text)
    return found is _NO_UTC or (isinstance(found, datetime) and not EARLIEST <= found < LATEST)


_NO_UTC = object()  # a time whose offset takes it past datetime's own range (9999-12-31T23:59:59-01:00)


def _read(text: object) -> datetime | object | None:
    """The time in UTC, _NO_UTC, or None when `text` is no time."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return None
    value = text.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    if " " in value and "T" not in value:
        first, _, rest = value.partition(" ")
        value = f"{first}T{rest.replace(' ', '')}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        return _NO_UTC


def within(value: datetime, name: str, given: str = "") -> datetime:
    """`value` (aware, UTC) when it lies in the supported range."""
    if not EARLIEST <= value < LATEST:
        raise OutOfBounds(name, f"a time {TIME_RANGE}", given or value.isoformat())
    return value


def argument(parse: Callable[[str, str], T], option: str) -> Callable[[str], T]:
    """`parse` as an argparse type for `option`: a bad value exits 2 with "argument OPTION: expected ..., got ..."."""

    def convert(text: str) -> T:
        try:
            return parse(text, option)
        except OutOfBounds as exc:
            raise argparse.ArgumentTypeError(f"expected {exc.what}, got {exc.given!r}") from None

    return convert


_SPAN = re.compile(r"(\d+)\s*([smhdw])")  # reconcile's durations: units may be combined, seconds allowed
_SPAN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `2h`, `1d`, `1h30m`, `2w` as a timedelta; ValueError naming the accepted form."""
    cleaned = text.strip().lower()
    parts = _SPAN.findall(cleaned)
    if not parts or _SPAN.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not a duration: use e.g. 30m, 2h, 1d or 1h30m")
    try:
        total = sum((timedelta(**{_SPAN_UNITS[unit]: int(n)}) for n, unit in parts), timedelta())
    except OverflowError:
        total = MAX_DURATION + timedelta(days=1)
    if total > MAX_DURATION:
        raise ValueError(f"{text[:40]!r} is longer than the most a pass looks back: {MAX_DURATION.days}d")
    return total
