"""Reindexing a history served over HTTP, and an index dropped and migrated again (the reindex tests)."""

from __future__ import annotations

from typing import Any

from service.store import Store, make_engine, migrate
from service.store.reindex import GitLabHistory, reindex
from tests.fakehistory import FakeHistory, HistoryServer
from tests.indexdb import empty_database


def reindexed(history: FakeHistory, store: Store, **kwargs: Any) -> int:
    """Reindex `store` from the history served over HTTP; the number of incidents rebuilt."""
    with HistoryServer(history) as server:
        return reindex(store, GitLabHistory(server.url, "token"), store.vocab, **kwargs).incidents


def fresh(url: str, like: Store) -> Store:
    """The same database emptied and migrated again (a dropped index)."""
    empty_database(url)
    engine = make_engine(url)
    migrate(engine)
    return Store(engine, like.vocab)
