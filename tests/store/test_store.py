"""The index itself: created and migrated on first open, idempotent writes, scopes, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from service.store import EventKind, Observation, Scope, Store, TimelineEvent, database_url, open_store
from service.store.engine import current_revision, head, make_engine, migrate
from service.store.schema import metadata

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def obs(iid: int = 1, path: str = "shop/checkout", **facts: Any) -> Observation:
    """An incident declared at T with a comment by bob five minutes later."""
    events = facts.pop(
        "events",
        (
            TimelineEvent(T, EventKind.INCIDENT, "", "", "added", "alice", 7),
            TimelineEvent(T + timedelta(minutes=5), EventKind.COMMENT, "", "", "", "bob", 8),
        ),
    )
    defaults: dict[str, Any] = {"author_id": 7, "created_at": T, "title": "Checkout down"}
    return Observation(
        project_id=1 if path.startswith("shop/") else 2,
        project_path=path,
        iid=iid,
        observed_at=T + timedelta(minutes=5),
        events=events,
        **{**defaults, **facts},
    )


def test_migrations_create_exactly_the_declared_schema(database_url: str) -> None:
    """`upgrade head` on an empty database yields the tables of schema.py, no more, no less."""
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    migrate(engine)  # a second start changes nothing
    assert current_revision(engine) == head()
    engine.dispose()


def test_first_open_creates_the_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    """Without a database URL the index is a WAL-mode SQLite file under INCIDENT_BOT_DATA_DIR, made on first open."""
    url = database_url({"INCIDENT_BOT_DATA_DIR": str(tmp_path / "state")})
    assert url == f"sqlite:///{tmp_path / 'state' / 'incidents.sqlite3'}"
    store = open_store(url)
    store.record(obs())
    path = tmp_path / "state" / "incidents.sqlite3"
    assert path.exists()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert database_url({}) == "sqlite:///data/incidents.sqlite3"
    assert database_url({"INCIDENT_BOT_DATABASE_URL": "postgresql://u@h/db"}) == "postgresql+psycopg://u@h/db"


def test_a_replayed_observation_adds_nothing(store: Store) -> None:
    """Recording the same delivery twice leaves one copy of each timeline event and the same times."""
    store.record(obs())
    first = store.incident(1, 1)
    store.record(obs())
    assert len(store.timeline(1, 1)) == 2
    again = store.incident(1, 1)
    assert again is not None and first is not None
    assert (again.started_at, again.acknowledged_at) == (T, T + timedelta(minutes=5))


def test_unknown_facts_keep_what_the_index_knew(store: Store) -> None:
    """A later delivery that does not know the author or creation time does not erase them."""
    store.record(obs(author="alice"))
    store.record(obs(events=(), author=None, author_id=None, created_at=None, severity=2))
    row = store.incident(1, 1)
    assert row is not None
    assert (row.author, row.author_id, row.created_at, row.severity) == ("alice", 7, T, 2)


def test_rebuild_replaces_the_timeline(store: Store) -> None:
    """Reindex replaces an incident's events with GitLab's; derived times follow."""
    store.record(obs())
    closed = TimelineEvent(T + timedelta(minutes=30), EventKind.STATE, "", "", "closed", "bob", 8)
    store.rebuild(obs(events=(closed,), state="closed"))
    assert store.timeline(1, 1) == [closed]
    row = store.incident(1, 1)
    assert row is not None
    # No incident-label event left: the start falls back to the creation time.
    assert (row.started_at, row.acknowledged_at, row.mitigated_at, row.resolved_at) == (T, None, closed.at, closed.at)


def test_scopes_filter_by_project_group_window_and_drill(store: Store) -> None:
    """--project (path or id), --group (a path prefix, `_` and `%` literal), the start window, drills left out."""
    store.record(obs(1, "shop/checkout"))
    store.record(obs(2, "shop_x/checkout"))
    store.record(obs(3, "ops/db", drill=True))
    later = obs(
        4, "shop/checkout", events=(TimelineEvent(T + timedelta(days=3), EventKind.INCIDENT, value_to="added"),)
    )
    store.record(later)

    def iids(scope: Scope) -> list[int]:
        return [r.iid for r in store.incidents(scope)]

    assert iids(Scope(project="shop/checkout")) == [1, 4]
    assert iids(Scope(project="2")) == [2, 3]
    assert iids(Scope(group="shop")) == [1, 4]
    assert iids(Scope(group="shop_")) == []
    assert iids(Scope(include_drills=False)) == [1, 2, 4]
    assert iids(Scope(started_from=T + timedelta(days=1))) == [4]
    assert iids(Scope(started_to=T + timedelta(days=1))) == [1, 2, 3]


def test_timestamps_round_trip_as_aware_utc(store: Store) -> None:
    """Times come back as aware UTC datetimes, whichever backend stores them."""
    store.record(obs())
    row = store.incident(1, 1)
    assert row is not None and row.started_at is not None
    assert row.started_at.tzinfo is not None and row.started_at == T
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM timeline_events")).scalar_one() == 2


def test_an_observation_that_is_no_longer_an_incident_forgets_it(store: Store) -> None:
    """A delivery removing the incident label (from an issue not of type Incident) removes it from the index."""
    store.record(obs())
    store.record(obs(is_incident=False, events=()))
    assert store.incident(1, 1) is None and store.timeline(1, 1) == []
