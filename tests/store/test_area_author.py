"""The delivery path fills the index's area (the first functional area applied), author and creation time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.cli import main
from service.reports import GroupBy, report_from_store
from service.rules import RuleSet
from service.store import Store
from service.store.observe import first_area
from service.worker import Runtime, process_delivery
from tests.conftest import body
from tests.fakegitlab import FakeGitLabServer, history_fake
from tests.store.history_script import play
from tests.store.played import play_script

CREATED = datetime(2013, 12, 3, 17, 15, 43, tzinfo=UTC)  # the fixture's object_attributes.created_at
TITLES = {
    23: "Database primary unreachable",  # reliability: a title term
    24: "Leaked credential in the CI logs",  # security: a title term
    25: "Checkout returns 500 errors",  # no functional area
}


def test_the_worker_fills_area_author_and_creation_time(fake, runtime: Runtime, indexed: Store) -> None:
    """Three incidents opened through the real job: each row has its area; `report --by area` groups by it."""
    for iid, title in TITLES.items():
        fake.add_issue(1, iid, title=title)
        if iid == 24:  # the issue GitLab returns names its author (GET /projects/:id/issues/:iid)
            fake.issues[(1, iid)]["author"] = {"id": 8, "username": "bob"}
        # alice (id 7) opens the first herself; bob's id is 8: the other two were opened by someone else.
        author = 7 if iid == 23 else 8
        assert process_delivery(
            body("issue.open.incident", iid=iid, title=title, author_id=author), {"delivery_id": f"o{iid}"}
        ).startswith("applied")
    rows = {row.iid: row for row in indexed.incidents()}
    assert {iid: row.area for iid, row in rows.items()} == {23: "reliability", 24: "security", 25: None}
    assert (rows[23].author, rows[23].author_id, rows[23].created_at) == ("alice", 7, CREATED)
    # Opened by bob, declared by alice: the hook names only alice; the issue read from GitLab names bob.
    assert (rows[24].author, rows[24].author_id, rows[24].created_at) == ("bob", 8, CREATED)
    assert (rows[25].author, rows[25].author_id) == (None, 8)  # a GitLab answer without the author: unknown
    report = report_from_store(
        indexed,
        start=datetime(2013, 12, 1, tzinfo=UTC),
        end=datetime(2014, 1, 1, tzinfo=UTC),
        by=GroupBy.AREA,
        targets={},
        now=datetime(2013, 12, 4, tzinfo=UTC),
    )
    assert {key: group.count for key, group in report.groups.items()} == {"reliability": 1, "security": 1, "none": 1}


def test_the_area_stays_once_applied(fake, runtime: Runtime, indexed: Store) -> None:
    """Renamed so no term matches any more: the area applied earlier stays the incident's area."""
    fake.add_issue(1, 23, title=TITLES[23])
    process_delivery(body("issue.open.incident", title=TITLES[23]), {"delivery_id": "o1"})
    fake.issues[(1, 23)]["title"] = "Checkout returns 500 errors"
    assert process_delivery(body("issue.update.title"), {"delivery_id": "u1"}).startswith("applied")
    row = indexed.incident(1, 23)
    assert row is not None and row.area == "reliability"


def test_first_area_reads_only_a_list_of_names() -> None:
    """The memory's `areas` of another shape is no area; a name longer than the column is cut to it."""
    assert first_area(["security", "reliability"]) == "security"
    assert [first_area(v) for v in (None, "security", {"security": 1}, [], [5, None, ""])] == [None] * 5
    assert first_area([7, "quality"]) == "quality"
    assert first_area(["x" * 100]) == "x" * 64


def test_report_by_area_after_reindex(
    tmp_path: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`incident-bot reindex` then `report --by area`: the security incident is its own group, read from GitLab."""
    monkeypatch.setenv("INCIDENT_BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("INCIDENT_BOT_DATABASE_URL", raising=False)
    history = history_fake(max_per_page=3)
    play_script(play, history, rules)
    with FakeGitLabServer(history) as server:
        monkeypatch.setenv("GITLAB_URL", server.url)
        monkeypatch.setenv("GITLAB_TOKEN", "token")
        assert main(["reindex"]) == 0
    capsys.readouterr()
    assert main(["report", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "area", "--format", "json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert groups["security"]["count"] == 1
    assert groups["none"]["count"] == 7  # the drill is left out
