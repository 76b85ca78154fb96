"""The board shows incidents paged and not acknowledged first (SQLite and PostgreSQL): the index keeps a `page`
event per person paged (from the page records of the bot's memory) and a `page_ack` per acknowledgement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.config import Settings
from service.incident import read_memory
from service.rules import load_rules
from service.store import EventKind, Store
from service.store.pages import page_sends
from service.web.board import BoardConfig, queries
from service.worker import process_delivery
from service.worker.runtime import Runtime
from tests.conftest import body, payload
from tests.fakegitlab import FakeGitLab
from tests.paging.pagingrules import paging_rules

from .conftest import GITLAB, KIOSK_TOKEN, board_app

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def declare(fake: FakeGitLab, iid: int, severity: int) -> None:
    fake.add_issue(1, iid, labels=["incident", f"severity::{severity}"], title=f"Incident {iid}")
    stamp = START.strftime(STAMP)
    data = body("issue.open.incident", iid=iid, id=1000 + iid, created_at=stamp, updated_at=stamp)
    process_delivery(data, {"delivery_id": f"open-{iid}"})


def ack(iid: int) -> None:
    """@eoc-carol (a Developer of the fake project) acknowledges in the issue."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note="@incident-bot ack", id=5000 + iid, noteable_iid=iid)
    data["issue"].update(iid=iid, id=1000 + iid)
    data["user"].update(username="eoc-carol", id=23)
    process_delivery(json.dumps(data).encode(), {"delivery_id": f"ack-{iid}"})


def board_order(index: Store, rules_dir: Path) -> list[tuple[str, bool]]:
    """The active rows as the kiosk sees them: (incident ref, marked "paged, not acknowledged")."""
    app = board_app(Settings(gitlab_url=GITLAB), index, load_rules(rules_dir), BoardConfig(kiosk_token=KIOSK_TOKEN))
    client = app.test_client()
    client.get(f"/board?token={KIOSK_TOKEN}", base_url="https://localhost")
    html = client.get("/board", base_url="https://localhost").get_data(as_text=True)
    active = html.split('id="active-h"', 1)[1].split('id="recent-h"', 1)[0]
    rows = active.split('<tr class="incident')[1:]
    return [(row.split(">Incident ", 1)[1].split("<", 1)[0], "paged, not acknowledged" in row) for row in rows]


def test_paged_not_acknowledged_first(fake: FakeGitLab, runtime: Runtime, indexed: Store, tmp_path: Path) -> None:
    """Severity 1 acknowledged, severity 2 paged and waiting: the severity 2 incident leads until it is acknowledged."""
    rules_dir = paging_rules(tmp_path)
    runtime.rules = load_rules(rules_dir)
    runtime.clock = lambda: START + timedelta(minutes=1)
    declare(fake, 23, 1)
    ack(23)
    declare(fake, 24, 2)
    ids = {indexed.incident(1, i).id: i for i in (23, 24)}  # type: ignore[union-attr]  # both declared just above
    assert {ids[i] for i in queries.paged_unacknowledged(indexed, list(ids))} == {24}
    assert board_order(indexed, rules_dir) == [("24", True), ("23", False)]
    ack(24)
    assert queries.paged_unacknowledged(indexed, list(ids)) == set()
    assert board_order(indexed, rules_dir) == [("23", False), ("24", False)]


def test_the_page_events_delivery_and_reindex_agree(
    fake: FakeGitLab, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """The `page` event the delivery recorded is the one reindex reads from the memory: who, rotation, minutes."""
    runtime.rules = load_rules(paging_rules(tmp_path))
    runtime.clock = lambda: START + timedelta(minutes=1)
    declare(fake, 23, 1)
    recorded = [e for e in indexed.timeline(1, 23) if e.kind is EventKind.PAGE]
    memory = read_memory(fake.bot_notes()[-1]["body"])
    assert memory is not None and [(e.at, e.name, e.value_from, e.value_to, e.actor) for e in recorded] == [
        (e.at, e.name, e.value_from, e.value_to, e.actor) for e in page_sends(memory)
    ]
    (event,) = recorded
    assert (event.actor, event.value_from, event.value_to) == ("eoc-carol", "engineers-on-call", "5")
