"""The incident index's fixtures (a plugin tests/conftest.py registers): each test on SQLite and on PostgreSQL.

The index is tested from tests/store/ and from the worker, reports and web tests that read or write it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.rules import RuleSet
from service.store import Store, make_engine, migrate, open_store
from service.store.observe import vocabulary
from service.store.schema import metadata
from service.worker.index import DeliveryIndex
from service.worker.runtime import Runtime

# Trust auth on the local server (as CI's service); override to point elsewhere.
POSTGRES_ADMIN = os.environ.get("INCIDENT_BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# One database per test session: several sessions (people, CI jobs) may share one server at the same time.
TEST_DATABASE = f"incident_bot_test_{os.getpid()}"


def _postgres_url() -> str:
    """Create this session's test database and return its URL; skip with the reason when none answers."""
    admin = make_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)'))  # a dead run's pid
            conn.execute(sa.text(f'CREATE DATABASE "{TEST_DATABASE}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN} does not answer: {str(exc).splitlines()[0]}")
    finally:
        admin.dispose()
    url = sa.make_url(make_engine(POSTGRES_ADMIN).url).set(database=TEST_DATABASE)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This session's PostgreSQL test database (created here, dropped at the end)."""
    url = _postgres_url()
    yield url
    admin = make_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def empty_database(url: str) -> None:
    """Drop the index's tables and Alembic's version table, so the next open migrates from nothing."""
    engine = make_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (SQLite file in tmp; the PostgreSQL test database emptied)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'incidents.sqlite3'}"
        return
    url = request.getfixturevalue("postgres_url")
    empty_database(url)
    yield url
    empty_database(url)


@pytest.fixture
def store(database_url: str, rules: RuleSet) -> Iterator[Store]:
    """A migrated, empty index on each backend."""
    engine = make_engine(database_url)
    migrate(engine)
    yield Store(engine, vocabulary(rules, "incident-bot"))
    engine.dispose()


@pytest.fixture
def indexed(runtime: Runtime, database_url: str) -> Iterator[Store]:
    """The test's runtime with an index on each backend, as `incident-bot worker` builds it; a reader of that index."""
    opened: list[Store] = []

    def opener() -> Store:
        opened.append(open_store(database_url))
        return opened[-1]

    runtime.index = DeliveryIndex(opener)
    reader = open_store(database_url)
    yield reader
    reader.engine.dispose()
    for store in opened:
        store.engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The index lives under a fresh INCIDENT_BOT_DATA_DIR; no database URL set."""
    monkeypatch.setenv("INCIDENT_BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("INCIDENT_BOT_DATABASE_URL", raising=False)
    return tmp_path / "data"
