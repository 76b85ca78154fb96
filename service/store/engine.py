"""Where the index lives and how it is opened: SQLite under the data directory, or PostgreSQL; migrated on open.

- `INCIDENT_BOT_DATABASE_URL` (e.g. `postgresql://user@host/db`): use that database;
  several machines share it. `postgresql://` URLs are driven by psycopg 3.
- otherwise `$INCIDENT_BOT_DATA_DIR/incidents.sqlite3` (default directory `./data`),
  created on first open, in WAL mode so the web process reads while a worker writes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DATA_DIR = "data"
SQLITE_FILE = "incidents.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PING_IDLE_SECONDS = 10.0  # a pooled connection idle longer than this is pinged before use
# Any constant works; it only has to be the same in every process that migrates.
PG_MIGRATION_LOCK = 0x1BC1DE27


def database_url(env: Mapping[str, str] | None = None) -> str:
    """The index's SQLAlchemy URL from the environment (see the module docstring)."""
    env = os.environ if env is None else env
    url = env.get("INCIDENT_BOT_DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    data_dir = Path(env.get("INCIDENT_BOT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR)
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 (SQLAlchemy would pick psycopg2 otherwise)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the index; a SQLite file's directory is created and every connection set to WAL."""
    url = normalise_url(url)
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # The index is derived from GitLab: a commit need not wait for the disk (a server crash loses at most
        # the last fraction of a second of index writes, which reindex restores). Saves a flush per delivery.
        connect_args = {"options": "-c synchronous_commit=off", **kwargs.pop("connect_args", {})}
        return _ping_when_idle(sa.create_engine(url, connect_args=connect_args, **kwargs))
    if parsed.get_backend_name() != "sqlite":
        return _ping_when_idle(sa.create_engine(url, **kwargs))
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # The busy timeout first: it covers the pragmas after it. WAL: readers never wait for the writer.
        # NORMAL: durable across process crashes, which is all a derived index needs (reindex heals).
        for pragma in ("busy_timeout=10000", "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def _ping_when_idle(engine: Engine) -> Engine:
    """Ping a pooled connection before use only when it sat idle for a while (`pool_pre_ping`, minus a round trip
    per delivery): a connection used seconds ago is trusted.

    One the server closed within that window fails its first statement; SQLAlchemy then discards
    the pool's connections, and `Store.record` (idempotent) tries once more on a new one.
    """

    def used(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info["used_at"] = time.monotonic()

    def lent(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError(f"pooled connection gone: {exc}") from exc  # the pool reconnects

    sa.event.listen(engine, "connect", used)
    sa.event.listen(engine, "checkin", used)
    sa.event.listen(engine, "checkout", lent)
    return engine


def _quiet_alembic() -> None:
    """Alembic narrates every plugin and step at INFO (a dozen lines per command): warnings only.

    Called before alembic is first imported, which is why alembic is imported inside functions here.
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped inside this package."""
    _quiet_alembic()
    from alembic.config import Config  # deferred: imported after _quiet_alembic() quiets its logger

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str | None:
    """The newest migration revision shipped."""
    from alembic.script import ScriptDirectory  # deferred: alembic loads when the store migrates, not on import

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    _quiet_alembic()
    from alembic.runtime.migration import MigrationContext  # deferred: after _quiet_alembic()

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """`alembic upgrade head`, safe when several processes start at once: one migrates, the others wait for it.

    PostgreSQL: an advisory lock held by the migrating transaction. SQLite: an exclusive `fcntl` lock on a file
    beside the database (SQLite's own locking cannot cover Alembic's check-then-create of `alembic_version`:
    three workers starting on a fresh data directory raced it). Whoever gets the lock looks again.
    """
    try:
        if current_revision(engine) == head():
            return
    except sa.exc.OperationalError:
        pass  # another process is migrating a fresh SQLite file ("database is locked"): wait for it below
    from alembic import command  # deferred: after current_revision() quieted alembic's logger

    config = alembic_config()
    with _sqlite_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")  # a no-op when another process migrated while this one waited


@contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database>.migrate.lock` for a SQLite file (blocks until free); nothing otherwise."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{Path(database).expanduser()}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes, or the process dies
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
