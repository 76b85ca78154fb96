"""The follow-ups table: an older reading never overwrites a newer one, and an unchanged one writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from service.corrective import FollowUpIssue
from service.store import Store
from service.store.corrective import find, record, set_reminded

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def reading(hour: int, **facts: object) -> FollowUpIssue:
    at = datetime(2026, 11, 30, hour, tzinfo=UTC)
    opened = datetime(2026, 11, 1, tzinfo=UTC)
    return FollowUpIssue(1, 501, title="Add a canary", opened_at=opened, updated_at=at, **cast(Any, facts))


def test_readings_out_of_order_keep_the_newest(store: Store) -> None:
    """Closed at 12:00, then a reading from 09:00 (reassigned) delivered late: the row stays closed; the
    same reading again changes nothing; the bot's reminder count survives a newer reading."""
    assert record(store.engine, (1, 23), reading(12, state="closed", owner="bob", closed_at=NOW), NOW)
    assert not record(store.engine, (1, 23), reading(9, owner="carol"), NOW)
    assert not record(store.engine, (1, 23), reading(12, state="closed", owner="bob", closed_at=NOW), NOW)
    set_reminded(store.engine, 1, 501, 2)
    assert record(store.engine, (1, 23), reading(13, owner="dave"), NOW)
    row = find(store.engine, 1, 501)
    assert row is not None and (row.state, row.owner, row.reminded) == ("opened", "dave", 2)
