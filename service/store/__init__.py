"""The incident index: a relational store derived from GitLab (never the source of truth).

SQLite under `INCIDENT_BOT_DATA_DIR` by default, PostgreSQL via `INCIDENT_BOT_DATABASE_URL`;
migrated (Alembic, shipped in `migrations/`) on open. The worker records one `Observation`
per applied delivery (`observe.observe` builds it); `reindex` rebuilds it from GitLab alone.
A delivery whose index write failed leaves its issue in `pending`, reindexed later by a worker.

SQLAlchemy and Alembic load on first use of the store, not on import of this package:
building the CLI (every `incident-bot` command) stays as fast as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .model import EventKind, Observation, Source, TimelineEvent
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from .engine import database_url, make_engine, migrate
    from .query import IncidentRow, Scope
    from .store import Store

__all__ = [
    "EventKind",
    "IncidentRow",
    "Observation",
    "Scope",
    "Source",
    "Store",
    "TimelineEvent",
    "Vocabulary",
    "database_url",
    "make_engine",
    "migrate",
    "open_store",
]
_LAZY = {
    "IncidentRow": "query",
    "Scope": "query",
    "Store": "store",
    "database_url": "engine",
    "make_engine": "engine",
    "migrate": "engine",
}


def __getattr__(name: str) -> Any:
    """The names backed by SQLAlchemy, imported when first asked for."""
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(
    url: str | None = None, *, env: Mapping[str, str] | None = None, vocab: Vocabulary | None = None
) -> Store:
    """The index at `url` (default: from the environment), created and migrated to the newest schema."""
    from .engine import database_url, make_engine, migrate  # deferred: SQLAlchemy loads on first use, not import
    from .store import Store  # deferred: SQLAlchemy loads on first use, not import

    engine = make_engine(url or database_url(env))
    migrate(engine)
    return Store(engine, vocab)
