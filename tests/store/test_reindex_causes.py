"""`reindex` rebuilds incidents' confirmed causes from the bot's confirmations (issue 19): a history played through the
real worker against the one fake GitLab (deployments and a flag by their hooks, causes by `@incident-bot cause`),
the index wiped and rebuilt by `incident-bot reindex`, gives the same `report --changes` and the same causes, on
SQLite and PostgreSQL; a rerun changes nothing, and a person's comment carrying a forged marker changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from service.cli import main
from service.store import Store
from service.store.schema import incident_causes, metadata
from service.worker import process_delivery
from tests.conftest import NOW, TEST_RULES, body, payload
from tests.fakegitlab import FakeGitLab

REPORT = ["report", "--changes", "--format", "json", "--from", "2026-11-01", "--to", "2026-11-30"]


def hook(data: dict[str, Any], event: str, key: str) -> None:
    """A Deployment or Feature Flag Hook through the real job."""
    meta = {"delivery_id": key, "event": event, "received_at": (NOW - timedelta(minutes=30)).timestamp()}
    assert process_delivery(json.dumps(data).encode(), meta).startswith("recorded")


def declare(fake: FakeGitLab, iid: int) -> None:
    """Incident 1#`iid`, opened as an incident at NOW, declared through the real job."""
    fake.add_issue(1, iid, labels=["incident"])["created_at"] = NOW.isoformat()
    data = body("issue.open.incident", iid=iid, created_at=NOW.isoformat())
    assert process_delivery(data, {"delivery_id": f"d{iid}", "event_uuid": f"d{iid}"}).startswith("applied")


def cause(fake: FakeGitLab, iid: int, ref: str) -> str:
    """`@incident-bot cause <ref>` by alice on incident 1#`iid` through the real job: the bot's reply."""
    note = payload("note.create.incident")
    note["issue"].update(iid=iid, created_at=NOW.strftime("%Y-%m-%d %H:%M:%S UTC"))
    note["object_attributes"].update(note=f"@incident-bot cause {ref}", id=fake.next_id())
    key = f"c{note['object_attributes']['id']}"
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes(1, iid)[-1]["body"])


def played(fake: FakeGitLab) -> None:
    """Production deployments 10 to 13 (4, 3, 1 and 2 h before NOW; 12 carried !40), flag `test-feature-flag`
    switched on; #23 caused by deployment 11, #24 by !40, #25 by the flag, #26 by 11, cleared, then by 10, #27 by
    13 then cleared."""
    fake.clock = NOW - timedelta(hours=5)
    for n, hours in ((10, 4), (11, 3), (12, 1), (13, 2)):
        hook(fake.deploy(1, n, NOW - timedelta(hours=hours)), "Deployment Hook", f"h{n}")
    fake.ship(1, 12, 40, path="group/project")
    hook(payload("feature_flag.on.docs"), "Feature Flag Hook", "f1")
    for iid in (23, 24, 25, 26, 27):
        declare(fake, iid)
    for iid, ref in ((23, "11"), (24, "!40"), (25, "test-feature-flag"), (26, "11"), (26, "none"), (26, "10")):
        assert "Cause " in cause(fake, iid, ref)
    cause(fake, 27, "13")
    cause(fake, 27, "none")


def causes(store: Store) -> list[dict[str, Any]]:
    """Every incident_causes row."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(incident_causes).order_by(incident_causes.c.project_id, incident_causes.c.iid))
        return [dict(row._mapping) for row in rows]


def wipe(store: Store) -> None:
    """Every row of every table of the index gone (the schema stays)."""
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`incident-bot <args>` against the test's index and the fake GitLab; what it printed."""
    for name, value in (("INCIDENT_BOT_DATABASE_URL", database_url), ("INCIDENT_BOT_RULES", str(TEST_RULES)),
                        ("GITLAB_URL", "http://gitlab.test"), ("GITLAB_TOKEN", "token")):  # fmt: skip
        monkeypatch.setenv(name, value)

    def run(*args: str) -> str:
        capsys.readouterr()
        assert main(list(args)) == 0
        return capsys.readouterr().out

    return run


def test_reindex_rebuilds_the_causes_report_changes_counts(fake, runtime, indexed: Store, cli) -> None:
    """Played live: 4 production deployments, 3 of them caused incidents (#23 by 11, #24 by !40 carried by 12, #26
    by 10 after a clear); the flag's cause counts against none, and #27's cause (13) was cleared. After a wipe and
    `reindex` the report and every cause row are the same; a second `reindex` changes nothing."""
    played(fake)
    live, rows = json.loads(cli(*REPORT)), causes(indexed)
    production = live["environments"]["group/project/production"]
    assert (production["deployments"], production["caused_incidents"]) == (4, 3)
    assert [(r["iid"], r["kind"], r["deployment_id"], r["merge_request_iid"], r["flag_name"]) for r in rows] == [
        (23, "deployment", 11, None, None),
        (24, "merge_request", None, 40, None),
        (25, "feature_flag", None, None, "test-feature-flag"),
        (26, "deployment", 10, None, None),
    ]
    wipe(indexed)
    assert json.loads(cli(*REPORT))["environments"] == {}
    cli("reindex")
    assert json.loads(cli(*REPORT)) == live
    assert causes(indexed) == rows
    cli("reindex")
    assert json.loads(cli(*REPORT)) == live
    assert causes(indexed) == rows


def test_a_persons_forged_marker_changes_nothing(fake, runtime, indexed: Store, cli) -> None:
    """Mallory's comments carry cause markers as the bot writes them (a cause for #27, a clear for #23, another
    cause for #24), and a `cause` command carries one the bot's usage reply quotes: only the bot's comments are
    read, and no person's text makes a marker in one, so reindex rebuilds what the bot confirmed."""
    played(fake)
    live, rows = json.loads(cli(*REPORT)), causes(indexed)
    stamp = int((NOW + timedelta(minutes=5)).timestamp())
    for iid, mark in (
        (27, f"confirmed {stamp} mallory deployment%2011 deployment 1 11"),
        (23, f"cleared {stamp} mallory "),
        (24, f"confirmed {stamp} mallory deployment%2011 deployment 1 11"),
    ):
        fake.add_note((1, iid), f"<!-- incident-bot:cause {mark} -->", "mallory")
    # a command carrying one: the bot's usage reply quotes it inert
    assert "&lt;!-- incident-bot:cause" in cause(
        fake, 27, f"<!-- incident-bot:cause confirmed {stamp} bot x deployment 1 11 -->"
    )
    wipe(indexed)
    cli("reindex")
    assert json.loads(cli(*REPORT)) == live
    assert causes(indexed) == rows
