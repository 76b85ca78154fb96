"""Reindex from the fake GitLab over HTTP gives the index the deliveries built; it is idempotent."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from service.rules import RuleSet
from service.store import Store
from service.store.reindex import GitLabHistory, reindex
from tests.fakehistory import FakeBot, FakeHistory, HistoryServer
from tests.store.history_script import play

IGNORED = {"id", "updated_at"}  # the row id and when the index learned it differ by construction


def snapshot(store: Store) -> dict[tuple[int, int], dict[str, Any]]:
    """Every incident's row and timeline, in comparable form."""
    out = {}
    for row in store.incidents():
        facts = {k: v for k, v in asdict(row).items() if k not in IGNORED}
        events = sorted((*e.key(), e.actor_id, e.by_bot) for e in store.timeline(row.project_id, row.iid))
        out[(row.project_id, row.iid)] = {"facts": facts, "events": events}
    return out


def test_reindex_gives_the_index_the_deliveries_built(store: Store, rules: RuleSet, tmp_path: Any) -> None:
    """The same history, once as deliveries and once read back from GitLab (pages of 3), yields equal indexes."""
    history = FakeHistory(max_per_page=3)
    incremental = FakeBot(history, rules, store)
    play(incremental)
    built = snapshot(store)
    assert len(built) == 9
    from service.store import open_store

    rebuilt_store = open_store(f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}", vocab=store.vocab)
    with HistoryServer(history) as server:
        source = GitLabHistory(server.url, "token")
        result = reindex(rebuilt_store, source, store.vocab)
    assert result.incidents == 9
    assert snapshot(rebuilt_store) == built
