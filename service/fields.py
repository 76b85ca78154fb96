"""Reading one field of a webhook body: total over any JSON, each wrong value a PayloadError naming the field."""

from __future__ import annotations

import re
from typing import Any

from .bounds import TIME_RANGE, out_of_range


class PayloadError(ValueError):
    """The delivery is JSON but lacks what GitLab always sends; the message says what."""


# GitLab ids are bigint columns: anything outside 1..2^63-1 is not a GitLab id.
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def label_titles(raw: Any, name: str) -> frozenset[str]:
    """Label titles from a list of label objects or strings; anything else means no labels."""
    if not isinstance(raw, list):
        return frozenset()  # tolerated: a missing or odd label list means no labels
    titles = set()
    for item in raw:
        if isinstance(item, dict):
            item = item.get("title")
        if isinstance(item, str):
            titles.add(checked_text(item, name))
    return frozenset(titles)


def require(mapping: Any, key: str, where: str) -> Any:
    """`mapping[key]`, or a PayloadError naming `where.key` when it is missing or null."""
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] is None:
        raise PayloadError(f"missing field {where}.{key}" if where else f"missing field {key}")
    return mapping[key]


def as_id(value: Any, name: str) -> int:
    """A GitLab id: a positive integer (or its decimal digits); floats, booleans and huge numbers are refused."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"field {name} must be an integer")
    if not 0 < value <= MAX_ID:
        raise PayloadError(f"field {name} must be a positive integer")
    return value


def optional_id(value: Any) -> int | None:
    """An id the bot can do without: kept when it is a valid id, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def checked_text(value: str, name: str) -> str:
    """`value`, or a PayloadError when it cannot be encoded."""
    # A lone surrogate (from a \ud800 escape) cannot be encoded: Redis, logs and GitLab would all fail on it later.
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise PayloadError(f"field {name} must be valid text") from None
    return value


def text_field(mapping: dict[str, Any], key: str, name: str, default: str = "") -> str:
    """A string field: missing, null or empty gives `default`; another type is a PayloadError naming it."""
    value = mapping.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise PayloadError(f"field {name} must be a string")
    return checked_text(value, name)


def str_or_none(value: Any, name: str) -> str | None:
    """An optional string (severities): kept when a string, else None."""
    return checked_text(value, name) if isinstance(value, str) else None


def checked_times(mapping: dict[str, Any], where: str) -> None:
    """`created_at` and `updated_at` of `mapping` (the index reads them): a PayloadError if one is out of range.

    A time the index could not convert or store would leave the delivery applied but missing from it.
    A value that is no time at all is tolerated: the index reads it as unknown.
    """
    for key in ("created_at", "updated_at"):
        if out_of_range(mapping.get(key)):
            raise PayloadError(f"field {where}.{key} must be a time {TIME_RANGE}")
