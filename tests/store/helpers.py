"""Reindexing a history served over HTTP, and an index dropped and migrated again (the reindex tests)."""

from __future__ import annotations

from typing import Any

from service.gitlab.history import GitLabHistory
from service.store import Store, make_engine, migrate
from service.store.reindex import reindex
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.indexdb import empty_database


def reindexed(history: FakeGitLab, store: Store, **kwargs: Any) -> int:
    """Reindex `store` from the history served over HTTP; the number of incidents rebuilt."""
    with FakeGitLabServer(history) as server:
        return reindex(store, GitLabHistory(server.url, "token"), store.vocab, **kwargs).incidents


def fresh(url: str, like: Store) -> Store:
    """The same database emptied and migrated again (a dropped index)."""
    empty_database(url)
    engine = make_engine(url)
    migrate(engine)
    return Store(engine, like.vocab)
