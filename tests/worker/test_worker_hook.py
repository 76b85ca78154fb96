"""The delivery job records each applied delivery in the index (SQLite and PostgreSQL); an outage never fails it."""

from __future__ import annotations

import dataclasses
import json
import logging

import sqlalchemy as sa

from service.store import EventKind, Store, open_store
from service.worker import process_delivery
from service.worker.index import DeliveryIndex
from tests.conftest import body, payload
from tests.e2e.harness import free_port


def run(name: str, key: str, **attrs: object) -> str:
    """One delivery through the real job (fake GitLab behind `responses`)."""
    return process_delivery(body(name, **attrs), {"delivery_id": key, "event_uuid": f"uuid-{key}"})


def test_a_new_incident_and_its_severity_change_are_in_the_index(fake, runtime, indexed: Store) -> None:
    """Opening an incident and raising its severity leave its row and timeline (bot's defaults, alice's change)."""
    assert run("issue.open.incident", "k1").startswith("applied")
    row = indexed.incident(1, 23)
    assert row is not None
    assert (row.severity, row.phase, row.state) == (3, "identification", "opened")
    assert row.started_at is not None
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1", "severity::3", "incident::identification"]
    assert run("issue.update.severity", "k2").startswith("applied")
    row = indexed.incident(1, 23)
    assert row is not None and row.severity == 1 and row.highest_severity == 1
    severities = [(e.actor, e.value_from, e.value_to) for e in indexed.timeline(1, 23) if e.kind == EventKind.SEVERITY]
    assert ("alice", "3", "1") in severities
    assert any(actor == "incident-bot" and to == "3" for actor, _, to in severities)


def test_skipped_and_dry_run_deliveries_record_nothing(fake, runtime, indexed: Store) -> None:
    """A replayed delivery adds no timeline event; the bot's own change and a dry run leave the index untouched."""
    run("issue.open.incident", "k1")
    events = indexed.timeline(1, 23)
    assert run("issue.open.incident", "k1") == "already applied"
    assert indexed.timeline(1, 23) == events
    own = payload("issue.update.severity")
    own["user"]["username"] = "incident-bot"
    assert process_delivery(json.dumps(own).encode(), {"delivery_id": "self-1"}) == "ignored: own change"
    assert indexed.timeline(1, 23) == events
    runtime.settings = dataclasses.replace(runtime.settings, gitlab_token="")  # no token: dry run
    assert run("issue.update.severity", "k9").startswith("dry-run")
    assert indexed.timeline(1, 23) == events


def test_an_unreachable_index_does_not_fail_the_delivery(fake, runtime, caplog) -> None:
    """PostgreSQL refusing connections: GitLab is written, the job succeeds, a warning names the index."""
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"
    runtime.index = DeliveryIndex(lambda: open_store(dead))
    with caplog.at_level(logging.WARNING, logger="incident_bot.worker"):
        assert run("issue.open.incident", "k1").startswith("applied")
    assert {"severity::3", "incident::identification"} <= fake.labels()
    assert any("incident index not opened" in r.getMessage() for r in caplog.records)


def test_a_failing_write_does_not_fail_the_delivery(fake, runtime, database_url: str, caplog) -> None:
    """An index whose tables were dropped under the worker: the delivery still applies and warns."""
    store = open_store(database_url)
    runtime.index = DeliveryIndex(lambda: store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE timeline_events"))
    with caplog.at_level(logging.WARNING, logger="incident_bot.worker"):
        assert run("issue.open.incident", "k1").startswith("applied")
    assert fake.bot_notes()
    assert any("incident index not updated" in r.getMessage() for r in caplog.records)
    store.engine.dispose()


def test_the_vocabulary_follows_reloaded_rules(runtime, database_url: str) -> None:
    """Rules reloaded with another drill label: the next delivery's store reads drills by the new label."""

    index = DeliveryIndex(lambda: open_store(database_url))
    store = index.store(runtime.rules, "incident-bot")
    assert store is not None and store.vocab.drill_label == "drill"
    reloaded = dataclasses.replace(
        runtime.rules, settings=dataclasses.replace(runtime.rules.settings, drill_label="exercise")
    )
    assert index.store(reloaded, "incident-bot") is store and store.vocab.drill_label == "exercise"
    store.engine.dispose()
