"""What one delivery's record costs the database: statements that write, nothing read back; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from service.store import EventKind, Observation, Store, TimelineEvent, make_engine, migrate
from service.store import engine as engine_module
from service.store.model import Progress
from service.store.store import Store as StoreClass
from tests.indexdb import empty_database

T = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def declared(**facts: Any) -> Observation:
    """Incident 1/7 as its declaration leaves it: labelled, the bot's severity, an identification checklist."""
    events = (
        TimelineEvent(T, EventKind.INCIDENT, "", "", "added", "alice", 7),
        TimelineEvent(T, EventKind.SEVERITY, "", "", "3", "incident-bot", None, True),
    )
    values: dict[str, Any] = {
        "project_id": 1,
        "project_path": "shop/checkout",
        "iid": 7,
        "title": "Checkout down",
        "author": "alice",
        "author_id": 7,
        "created_at": T,
        "severity": 3,
        "phase": "identification",
        "observed_at": T,
        "events": events,
        "checklists": (Progress("identification", 0, 4),),
    }
    return Observation(**{**values, **facts})


def later(minutes: float, *events: TimelineEvent, **facts: Any) -> Observation:
    """A later delivery of the same incident: these new events, these facts."""
    return declared(observed_at=T + timedelta(minutes=minutes), events=events, **facts)


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The first word of each statement the store sends while the block runs."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)


def test_a_delivery_writes_without_reading_its_timeline_back(store: Store) -> None:
    """Facts and the known timeline come back from the upsert; then only writes: new events, times, checklists."""
    store.record(declared())
    comment = TimelineEvent(T + timedelta(minutes=4), EventKind.COMMENT, "", "", "", "bob", 8)
    with statements(store) as sent:
        store.record(later(4, comment, checklists=(Progress("identification", 2, 4),)))
    assert sent == ["INSERT", "INSERT", "UPDATE", "INSERT"]  # upsert, events, acknowledged_at, checklist
    row = store.incident(1, 7)
    assert row is not None and row.acknowledged_at == T + timedelta(minutes=4)


def test_a_replayed_delivery_is_one_statement(store: Store) -> None:
    """Nothing new to say (same events, same times, no checklist read): the upsert alone, even for a long value."""
    long_value = "x" * 3000  # stored cut to 1024: still the same event
    update = TimelineEvent(T + timedelta(minutes=9), EventKind.STATUS_UPDATE, "", "", long_value, "bob", 8)
    store.record(declared())
    store.record(later(9, update))
    with statements(store) as sent:
        store.record(later(9, update, checklists=()))
    assert sent == ["INSERT"]
    assert len(store.timeline(1, 7)) == 3


def test_times_are_derived_from_the_whole_timeline(store: Store) -> None:
    """Events learned out of order (an earlier comment after a later phase move) give the times reindex would."""
    mitigation = TimelineEvent(T + timedelta(minutes=30), EventKind.PHASE, "", "identification", "mitigation", "bob", 8)
    store.record(declared())
    store.record(later(30, mitigation, phase="mitigation"))
    row = store.incident(1, 7)
    assert row is not None and row.acknowledged_at == T + timedelta(minutes=30)
    comment = TimelineEvent(T + timedelta(minutes=3), EventKind.COMMENT, "", "", "", "carol", 9)
    store.record(later(31, comment, phase="mitigation"))
    row = store.incident(1, 7)
    assert row is not None and row.acknowledged_at == T + timedelta(minutes=3)
    assert row.started_at == T and row.highest_severity == 3


def test_a_server_in_another_time_zone_reads_the_same_times(postgres_url: str) -> None:
    """The timeline comes back as JSON text in the session's time zone: still the same instants."""
    engine = make_engine(postgres_url, connect_args={"options": "-c timezone=Asia/Kolkata"})
    empty_database(postgres_url)
    migrate(engine)
    store = StoreClass(engine)
    store.record(declared())
    comment = TimelineEvent(T + timedelta(minutes=4), EventKind.COMMENT, "", "", "", "bob", 8)
    store.record(later(4, comment))
    store.record(later(5, comment))  # a replay: the timeline read back as JSON matches the stored one
    row = store.incident(1, 7)
    assert row is not None and (row.started_at, row.acknowledged_at) == (T, T + timedelta(minutes=4))
    assert len(store.timeline(1, 7)) == 3
    engine.dispose()
    empty_database(postgres_url)


@pytest.mark.parametrize("idle_seconds", [0.0, 3600.0], ids=["pinged-after-idle", "used-recently"])
def test_a_connection_the_server_closed_loses_no_delivery(
    postgres_url: str, idle_seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL restarted (its backends gone) between two deliveries: the second is still recorded.

    A connection idle past the window is pinged and replaced; one used within it fails its first
    statement, and the record is tried once more on a new connection.
    """
    monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", idle_seconds)
    engine = make_engine(postgres_url)
    empty_database(postgres_url)
    migrate(engine)
    store = StoreClass(engine)
    store.record(declared())
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    assert killed >= 1
    comment = TimelineEvent(T + timedelta(minutes=4), EventKind.COMMENT, "", "", "", "bob", 8)
    store.record(later(4, comment))
    assert len(store.timeline(1, 7)) == 3
    engine.dispose()
    empty_database(postgres_url)
