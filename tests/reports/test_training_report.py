"""`incident-bot report --training` over a seeded training record: who practised which role, who never has."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.cli import main
from service.reports.training import build_training, contract, render
from service.rules import RuleSet
from service.store import Store, open_store
from service.store.training import TrainingRecord, record, records
from tests.rulesdir import TEST_RULES

OCT, NOV = datetime(2026, 10, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)


def held(username: str, role: str, iid: int, closed: datetime) -> TrainingRecord:
    return TrainingRecord(1, "ops/drills", iid, "database-outage", username, role, closed, closed, closed)


SEED = [
    held("im-alice", "incident-manager", 7, OCT),
    held("im-alice", "incident-manager", 9, NOV),
    held("im-alice", "eoc", 9, NOV),
    held("eoc-carol", "eoc", 7, OCT),
    held("db-heidi", "incident-manager", 9, NOV),  # not of the IMs' rotation, handed the role in a drill
]


def practice(username: str, drills: int, last: str, drill: str) -> dict[str, object]:
    return {
        "username": username,
        "drills": drills,
        "last_practised": last,
        "last_drill": drill,
        "last_scenario": "database-outage",
    }


def never(username: str) -> dict[str, object]:
    return {"username": username, "drills": 0, "last_practised": None, "last_drill": None, "last_scenario": None}


def test_the_json_contract_names_who_practised_and_who_never_did(store: Store, rules: RuleSet) -> None:
    """Per role, who and when last; per rotation, the members who never practised the role it staffs."""
    record(store.engine, SEED)
    got = contract(build_training(records(store.engine), rules, NOW))
    assert got["generated_at"] == "2026-11-27T10:00:00Z" and got["drills"] == 2
    im = got["roles"]["incident-manager"]
    assert (im["title"], im["rotation"]) == ("Incident Manager (IM)", "incident-managers")
    assert im["practised"] == [
        practice("db-heidi", 1, "2026-11-01T10:00:00Z", "ops/drills#9"),
        practice("im-alice", 2, "2026-11-01T10:00:00Z", "ops/drills#9"),
    ]
    assert [p["username"] for p in got["roles"]["eoc"]["practised"]] == ["eoc-carol", "im-alice"]
    assert got["roles"]["cmoc"]["practised"] == [] and got["roles"]["sirt"]["practised"] == []
    rotations = got["rotations"]
    assert rotations["incident-managers"] == {
        "roles": ["incident-manager"],
        "members": [practice("im-alice", 2, "2026-11-01T10:00:00Z", "ops/drills#9"), never("im-bob")],
        "never_practised": ["im-bob"],
    }
    assert rotations["engineers-on-call"]["never_practised"] == ["eoc-dave"]
    assert rotations["communications"]["never_practised"] == ["cmoc-erin"]
    assert rotations["sirt"]["never_practised"] == ["sirt-frank", "sirt-grace"]
    # A rotation that staffs no role (the database team's paging rotation) counts any role.
    assert rotations["database"]["roles"] == [] and rotations["database"]["never_practised"] == []


def test_markdown_and_csv(store: Store, rules: RuleSet) -> None:
    """Markdown: one row per role and person, names inert; CSV: role rows and rotation rows (drills 0: never)."""
    record(store.engine, [*SEED, held("bob", "old|role", 3, OCT)])  # a role the rules no longer define
    report = build_training(records(store.engine), rules, NOW)
    md = render(report, "md")
    assert "| Incident Manager (IM) | im-alice | 2 | 2026-11-01 | ops/drills#9 |" in md
    assert "| Communications Manager (CMOC) | *nobody yet* | 0 | never | |" in md
    assert "| incident-managers | Incident Manager (IM) | im-bob | im-alice (2026-11-01) |" in md
    assert "| old&#124;role | bob | 1 | 2026-10-01 | ops/drills#3 |" in md
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert {
        "kind": "rotation",
        "name": "incident-managers",
        "username": "im-bob",
        "drills": "0",
        "last_practised": "",
        "last_drill": "",
    } in rows
    assert {
        "kind": "role",
        "name": "incident-manager",
        "username": "im-alice",
        "drills": "2",
        "last_practised": "2026-11-01T10:00:00Z",
        "last_drill": "ops/drills#9",
    } in rows


def test_report_training_from_the_cli(
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    """`report --training --format json` prints the contract; `--out` writes Markdown; a project scope filters."""
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(TEST_RULES))
    store = open_store()
    record(store.engine, [*SEED, TrainingRecord(2, "shop/web", 4, "", "cmoc-erin", "cmoc", NOV, NOV, NOV)])
    store.engine.dispose()
    assert main(["report", "--training", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["drills"] == 3 and got["rotations"]["communications"]["never_practised"] == []
    assert main(["report", "--training", "--project", "ops/drills", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rotations"]["communications"]["never_practised"] == ["cmoc-erin"]
    out = tmp_path / "training.md"
    assert main(["report", "--training", "--out", str(out)]) == 0
    assert "### Who in each rotation has never practised" in out.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--by", "month"], "--by does not apply"),
        (["--since", "7d"], "--since does not apply"),
        (["--format", "html"], "--training comes as md, csv, json, not html"),
    ],
)
def test_options_that_do_not_apply_are_named(
    argv: list[str],
    message: str,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    """A window, a grouping or HTML with --training: exit 2 naming the option, no traceback."""
    assert main(["report", "--training", *argv]) == 2
    assert message in capsys.readouterr().err
