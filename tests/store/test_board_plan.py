"""The board's query searches the index's indexes instead of scanning every incident (SQLite's own plan)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from service.store import open_store
from service.web.board import queries


def test_board_query_searches_indexes_and_scans_no_table(tmp_path: Path) -> None:
    """The board's own query finds active and recently resolved incidents through indexes (no `SCAN incidents`)."""
    store = open_store(f"sqlite:///{tmp_path / 'index.sqlite3'}")
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", keep)
    queries.board(store, datetime(2026, 11, 27, tzinfo=UTC))
    sa.event.remove(store.engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in seen if "FROM incidents" in s)
    with store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    store.engine.dispose()
    assert not [step for step in plan if step.startswith("SCAN incidents")], plan
    assert any("ix_incidents_state_resolved_at" in step for step in plan), plan
    assert any("ix_incidents_resolved_at " in step for step in plan), plan
