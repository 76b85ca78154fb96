"""`report --follow-ups` honours `--project` / `--group` (by the incident's project) and comes as CSV too.

A hand-built history over November 2026, each figure worked out by hand, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from service.cli import main
from service.corrective import FollowUpIssue
from service.store import Store
from service.store.corrective import record
from service.store.schema import incidents
from tests.rulesdir import TEST_RULES

END = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = ["--from", "2026-11-01", "--to", "2026-11-30"]


def t(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


# The incidents: (project id, iid, path, highest severity). Incident 1#99 is not in the index.
INCIDENTS = [(1, 10, "shop/checkout", 1), (2, 20, "shop/payments/api", 2), (3, 30, "other/tools", 1)]
# (incident, follow-up iid, opened, closed, due, owner)
HISTORY = [
    ((1, 10), 101, t("2026-10-20"), None, date(2026, 11, 10), "bob"),  # open, overdue
    ((1, 10), 102, t("2026-11-02"), t("2026-11-12"), None, "bob"),  # closed in the window: 10.0 days
    ((2, 20), 103, t("2026-11-01"), t("2026-11-08"), None, "bob"),  # closed: 7.0 days
    ((2, 20), 104, t("2026-11-05"), None, date(2026, 12, 20), "=HYPERLINK(1)"),  # open, not yet due
    ((3, 30), 105, t("2026-11-01"), None, date(2026, 11, 15), "bob"),  # open, overdue
    ((3, 30), 106, t("2026-10-25"), t("2026-11-29"), None, "bob"),  # closed: 35.0 days
    ((1, 99), 107, t("2026-11-03"), None, date(2026, 11, 30), "bob"),  # open, due the last day: overdue
]


def build(store: Store) -> None:
    with store.engine.begin() as conn:
        for project_id, iid, path, severity in INCIDENTS:
            conn.execute(
                incidents.insert().values(
                    project_id=project_id, project_path=path, iid=iid, roles={}, highest_severity=severity,
                    updated_at=END,
                )
            )  # fmt: skip
    for incident, iid, opened, closed, due, owner in HISTORY:
        issue = FollowUpIssue(
            9, iid, title=f"follow-up {iid}", state="closed" if closed else "opened", owner=owner, due_on=due,
            opened_at=opened, closed_at=closed, updated_at=closed or opened,
        )  # fmt: skip
        record(store.engine, incident, issue, END)


def group(open_: int, overdue: int, closed: int, median: float | None) -> dict[str, Any]:
    return {"open": open_, "overdue": overdue, "closed": closed, "median_days_to_close": median}


CASES = {
    # every follow-up: open 101, 104, 105, 107; overdue 101, 105, 107; severity 1 closed 10.0 and 35.0 days
    "all": ([], 4, 3, {"1": group(2, 2, 2, 22.5), "2": group(1, 0, 1, 7.0), "none": group(1, 1, 0, None)}),
    # project 1 by id: its indexed incident's and the one the index lacks (severity unknown)
    "project-id": (["--project", "1"], 2, 2, {"1": group(1, 1, 1, 10.0), "none": group(1, 1, 0, None)}),
    # by path: only incidents the index holds have one
    "project-path": (["--project", "shop/checkout"], 1, 1, {"1": group(1, 1, 1, 10.0)}),
    "group": (["--group", "shop"], 2, 1, {"1": group(1, 1, 1, 10.0), "2": group(1, 0, 1, 7.0)}),
    "subgroup": (["--group", "shop/payments"], 1, 0, {"2": group(1, 0, 1, 7.0)}),
    "prefix-is-no-group": (["--group", "sho"], 0, 0, {}),
}


@pytest.fixture
def history(store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    build(store)
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(TEST_RULES))
    return store


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_scope_options_by_the_incidents_project(history: Store, case: str, capsys) -> None:
    """`--project` (id or path) and `--group`: the JSON contract unchanged, each figure as worked out by hand."""
    scope, still_open, overdue, groups = CASES[case]
    assert main(["report", "--follow-ups", *scope, *WINDOW, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "from": "2026-11-01T00:00:00+00:00",
        "to": "2026-12-01T00:00:00+00:00",
        "open": still_open,
        "overdue": overdue,
        "groups": groups,
    }


def test_csv_a_row_per_group_and_the_whole(history: Store, capsys) -> None:
    """`--format csv --by owner --group shop`: a row per owner, a formula-like owner made inert, then `(all)`."""
    assert main(["report", "--follow-ups", "--group", "shop", "--by", "owner", *WINDOW, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    window = ["2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00"]
    assert rows == [
        ["from", "to", "owner", "open", "overdue", "closed", "median_days_to_close"],
        [*window, "'=HYPERLINK(1)", "1", "0", "0", ""],
        [*window, "bob", "1", "1", "2", "8.5"],
        [*window, "(all)", "2", "1", "2", ""],
    ]


def test_html_is_refused_for_follow_ups(capsys) -> None:
    """`--format html` has no follow-ups form: exit 2 naming the three it has."""
    assert main(["report", "--follow-ups", "--format", "html"]) == 2
    assert "--format md, csv or json" in capsys.readouterr().err
