"""A page acknowledged is the incident's acknowledged time in the index, and `report`'s TTA uses it (SQLite and
PostgreSQL); reindex from GitLab alone finds the same time in the bot's memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.incident import read_memory
from service.paging import deliveries
from service.rules import load_rules
from service.store import Store
from service.store.history import page_acks
from service.store.measure import measured
from service.store.query import Scope
from service.worker import process_delivery
from service.worker.runtime import Runtime
from tests.conftest import body
from tests.fakegitlab import FakeGitLab
from tests.paging.pagingrules import paging_rules

CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ACKED = CREATED + timedelta(minutes=4)


def test_a_link_acknowledgement_is_the_acknowledged_time(
    fake: FakeGitLab, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """Declared at 09:00 (severity 1, the EOC paged), acknowledged by link at 09:04: TTA 4 minutes."""
    runtime.rules = load_rules(paging_rules(tmp_path))
    clock = [CREATED]
    runtime.clock = lambda: clock[0]
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1"]
    stamp = CREATED.strftime("%Y-%m-%dT%H:%M:%SZ")
    process_delivery(body("issue.open.incident", created_at=stamp, updated_at=stamp), {"delivery_id": "open"})
    row = indexed.incident(1, 23)
    assert row is not None and row.started_at == CREATED and row.acknowledged_at is None
    memory = [read_memory(n["body"]) for n in fake.bot_notes()]
    (page,) = [m for m in memory if m][-1]["pages"]
    clock[0] = ACKED
    signal = {"delivery_id": "ack-by-link", "paging": f"ack:{page}:eoc-carol"}
    process_delivery(json.dumps(deliveries.payload(1, "gitlabhq/gitlab-test", 23, "eoc-carol")).encode(), signal)
    row = indexed.incident(1, 23)
    assert row is not None and row.acknowledged_at == ACKED
    (figures,) = list(measured(indexed.engine, Scope(), ACKED + timedelta(hours=1)))
    assert figures.tta == 4.0
    read = read_memory(fake.bot_notes()[-1]["body"])
    assert read is not None and [(e.at, e.actor, e.value_to) for e in page_acks(read)] == [(ACKED, "eoc-carol", "link")]
