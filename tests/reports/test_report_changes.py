"""`report --changes`: the change-failure figures worked out by hand, the same on SQLite and PostgreSQL, and the
JSON contract through the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.cli import main
from service.reports.changes import change_figures, render_changes
from service.store import Store, open_store
from service.store.causes import Cause, CauseKind, caused_incidents, record_cause
from service.store.changes import deployments_between, record
from tests.changes.helpers import deployed
from tests.web.board.seed import incident

NOW = datetime(2026, 4, 1, tzinfo=UTC)
FROM = datetime(2026, 3, 1, tzinfo=UTC)
EXPECTED = {
    "acme/shop/production": {
        "deployments": 4,
        "caused_incidents": 2,  # deployments 1 and 2
        "change_failure_rate": 0.5,
        "median_minutes_to_incident": 30.0,  # of 12, 30 and 60
        "median_minutes_to_restore": 60.0,  # of 60 and 120 (#12 is not resolved), nearest rank
    },
    "acme/shop/staging": {
        "deployments": 1,
        "caused_incidents": 0,
        "change_failure_rate": 0.0,
        "median_minutes_to_incident": None,
        "median_minutes_to_restore": None,
    },
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def history(store: Store) -> None:
    """Deployments 1-4 to production in March, 5 failed, 6 in February, 7 to staging; incidents caused by 1, 2 (twice),
    6 and a flag."""
    for n, when in ((1, at(2, 8)), (2, at(5, 10)), (3, at(10, 12)), (4, at(20, 9))):
        record(store.engine, deployed(n, 0, status_changed_at=when))
    record(store.engine, deployed(5, 0, status="failed", status_changed_at=at(6, 9)))
    record(store.engine, deployed(6, 0, status_changed_at=datetime(2026, 2, 20, tzinfo=UTC)))
    record(store.engine, deployed(7, 0, tier="staging", status_changed_at=at(3, 9)))
    started = {10: (at(2, 8, 12), 60), 11: (at(5, 10, 30), 120), 12: (at(5, 11), None)}
    started |= {13: (at(6, 8), 10), 14: (at(7, 8), 5)}
    for iid, (start, restored) in started.items():
        ago = (NOW - start).total_seconds() / 60
        store.record(
            incident(
                iid, f"Incident {iid}", now=NOW, started_minutes_ago=ago, project_id=1, project_path="acme/shop",
                resolved_minutes_ago=None if restored is None else ago - restored,
            )
        )  # fmt: skip
    for iid, n in ((10, 1), (11, 2), (12, 2), (13, 6)):
        record_cause(store.engine, 1, iid, Cause(1, iid, CauseKind.DEPLOYMENT, 1, deployment_id=n, recorded_by="im"))
    record_cause(store.engine, 1, 14, Cause(1, 14, CauseKind.FEATURE_FLAG, 1, flag_name="new-checkout"))


def test_the_figures_worked_out_by_hand(store: Store) -> None:
    """Failed and out-of-window deployments do not count; a flag counts against no deployment; a cause cleared
    (`cause none`) no longer counts."""
    history(store)
    figures = change_figures(deployments_between(store.engine, FROM, NOW), caused_incidents(store.engine))
    assert {name: vars(f) for name, f in figures.items()} == EXPECTED
    record_cause(store.engine, 1, 10, None)
    figures = change_figures(deployments_between(store.engine, FROM, NOW), caused_incidents(store.engine))
    assert (figures["acme/shop/production"].caused_incidents, figures["acme/shop/production"].change_failure_rate) == (
        1,
        0.25,
    )


def test_markdown_and_csv_keep_names_inert() -> None:
    """An environment named like a formula or a link is a plain cell in CSV and inert in Markdown."""
    hostile = deployed(1, 0, tier="production", environment="=HYPERLINK(1)|[x](javascript:1)")
    figures = change_figures([hostile], [])
    csv_text = render_changes(FROM, NOW, figures, "csv")
    assert "\n'acme/shop/=HYPERLINK" not in csv_text and "acme/shop/=HYPERLINK" in csv_text
    md = render_changes(FROM, NOW, figures, "md")
    assert "[x](javascript" not in md and "&#124;" in md


def test_the_json_contract_through_the_command_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`incident-bot report --changes --format json --from 2026-03-01 --to 2026-03-31` prints the contract."""
    store = open_store(database_url)
    history(store)
    store.engine.dispose()
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    assert main(["report", "--changes", "--format", "json", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"from": FROM.isoformat(), "to": NOW.isoformat(), "environments": EXPECTED}
    assert main(["report", "--changes", "--group", "other", "--format", "json", "--since", "3650d"]) == 0
    assert json.loads(capsys.readouterr().out)["environments"] == {}
    assert main(["report", "--changes", "--format", "html"]) == 2
    assert "--changes comes as md, csv or json" in capsys.readouterr().err
    assert main(["report", "--changes", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    assert "| acme/shop/production | 4 | 2 | 0.5 | 30.0 | 60.0 |" in capsys.readouterr().out
