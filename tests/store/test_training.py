"""The training record in the index (SQLite and PostgreSQL): written per drill, person and role; read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from service.store import EventKind, Store, TimelineEvent
from service.store.schema import training_records
from service.store.training import TrainingRecord, last_practised, participants, record, records

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def held(username: str, role: str, iid: int = 7, closed: datetime = T) -> TrainingRecord:
    """`username` held `role` in drill shop/drills#iid (a database outage), which closed at `closed`."""
    started = closed - timedelta(hours=1)
    return TrainingRecord(1, "shop/drills", iid, "database-outage", username, role, started, closed, closed)


def role(at: int, name: str, was: str, now: str) -> TimelineEvent:
    """A `role` timeline event `at` minutes after T."""
    return TimelineEvent(T + timedelta(minutes=at), EventKind.ROLE, name, was, now, "incident-bot", None, True)


def test_participants_are_everyone_who_held_a_role() -> None:
    """Staffed, handed off from, handed to, and holding at the close: each (role, person) once, first held first."""
    events = [
        role(0, "eoc", "", "eoc-carol"),
        TimelineEvent(T, EventKind.COMMENT, "", "", "", "bob", 8),  # a comment holds no role
        role(5, "incident-manager", "", "im-alice"),
        role(20, "incident-manager", "im-alice", "im-bob"),
        role(30, "eoc", "", "not a user!"),  # the memory said something that is no username: nobody
    ]
    assert participants(events, {"incident-manager": "im-bob", "cmoc": "cmoc-erin"}) == [
        ("eoc", "eoc-carol"),
        ("incident-manager", "im-alice"),
        ("incident-manager", "im-bob"),
        ("cmoc", "cmoc-erin"),
    ]


def test_records_are_written_once_per_drill_person_and_role(store: Store) -> None:
    """Written twice (a drill reopened and closed again): one row per person and role, with the later close."""
    assert record(store.engine, [held("im-alice", "incident-manager"), held("eoc-carol", "eoc")]) == 2
    later = T + timedelta(hours=2)
    assert record(store.engine, [held("im-alice", "incident-manager", closed=later)]) == 1
    assert record(store.engine, []) == 0
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(training_records)).scalar_one() == 2
    found = records(store.engine, project_id=1, iid=7)
    assert [(r.username, r.role, r.closed_at) for r in found] == [
        ("eoc-carol", "eoc", T),
        ("im-alice", "incident-manager", later),
    ]
    assert found[0].ref == "shop/drills#7" and found[0].scenario == "database-outage"
    assert found[0].started_at == T - timedelta(hours=1)


def test_last_practised_is_the_latest_drill_of_that_role(store: Store) -> None:
    """The latest close of the person's drills in that role; another role or person does not count; never: None."""
    record(
        store.engine,
        [
            held("im-alice", "incident-manager", iid=1, closed=T - timedelta(days=200)),
            held("im-alice", "incident-manager", iid=2, closed=T - timedelta(days=10)),
            held("im-alice", "eoc", iid=3, closed=T),
            held("im-bob", "incident-manager", iid=3, closed=T),
        ],
    )
    assert last_practised(store.engine, "im-alice", "incident-manager") == T - timedelta(days=10)
    assert last_practised(store.engine, "im-alice", "cmoc") is None
    assert last_practised(store.engine, "nobody", "incident-manager") is None
    assert [r.iid for r in records(store.engine)] == [1, 2, 3, 3]


def test_long_values_are_cut_to_the_columns(store: Store) -> None:
    """A scenario, path or name longer than its column is cut, not refused (PostgreSQL enforces lengths)."""
    long = TrainingRecord(1, "g/" * 200, 1, "s" * 100, "u" * 300, "r" * 100, None, T, T)
    assert record(store.engine, [long]) == 1
    (got,) = records(store.engine)
    assert (len(got.project_path), len(got.scenario), len(got.username), len(got.role)) == (255, 64, 255, 64)
    assert got.started_at is None
