"""The incident index: a relational store derived from GitLab (never the source of truth).

SQLite under `INCIDENT_BOT_DATA_DIR` by default, PostgreSQL via `INCIDENT_BOT_DATABASE_URL`;
migrated (Alembic, shipped in `migrations/`) on open. The worker records one `Observation`
per applied delivery (`observe.observe` builds it); `reindex` rebuilds it from GitLab alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from .engine import database_url, make_engine, migrate
from .model import EventKind, Observation, Source, TimelineEvent
from .store import IncidentRow, Scope, Store
from .vocabulary import Vocabulary

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


def open_store(
    url: str | None = None, *, env: Mapping[str, str] | None = None, vocab: Vocabulary | None = None
) -> Store:
    """The index at `url` (default: from the environment), created and migrated to the newest schema."""
    engine = make_engine(url or database_url(env))
    migrate(engine)
    return Store(engine, vocab)
