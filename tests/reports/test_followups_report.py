"""`report --follow-ups` on a hand-built history, every figure worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from service.cli import main
from service.corrective import FollowUpIssue
from service.rules import RuleSet
from service.store import Store
from service.store.corrective import record
from service.store.schema import incidents
from tests.rulesdir import TEST_RULES

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def t(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# (incident iid, follow-up iid, opened, closed, owner, due); incident 10: severity 1, area reliability; 11: severity 2.
HISTORY = [
    (10, 101, t("2026-10-20"), None, "eoc-carol", date(2026, 11, 10)),  # open at the end, overdue
    (10, 102, t("2026-11-02"), t("2026-11-12"), "bob", date(2026, 12, 15)),  # closed in the window: 10.0 days
    (10, 103, t("2026-11-01"), t("2026-11-22"), "db-heidi", None),  # closed in the window: 21.0 days
    (10, 104, t("2026-09-01"), t("2026-10-15"), "bob", None),  # closed before the window: not counted
    (11, 105, t("2026-11-05"), None, None, date(2026, 11, 30)),  # open, due on the window's last day: overdue
    (11, 106, t("2026-10-01"), t("2026-11-04"), "eoc-carol", None),  # closed in the window: 34.0 days
    (11, 107, t("2026-12-05"), None, "bob", date(2026, 12, 6)),  # opened after the window: not counted
    (11, 108, t("2026-11-20"), None, "bob", date(2026, 12, 20)),  # open, not yet due
]


def build(store: Store) -> None:
    with store.engine.begin() as conn:
        for iid, severity, area in ((10, 1, "reliability"), (11, 2, None)):
            conn.execute(
                incidents.insert().values(
                    project_id=1, iid=iid, roles={}, highest_severity=severity, area=area, updated_at=END
                )
            )
    for incident, iid, opened, closed, owner, due in HISTORY:
        issue = FollowUpIssue(
            1, iid, title=f"follow-up {iid}", state="closed" if closed else "opened", owner=owner, due_on=due,
            opened_at=opened, closed_at=closed, updated_at=closed or opened,
        )  # fmt: skip
        record(store.engine, (1, incident), issue, END)


EXPECTED = {
    "severity": {
        "1": {"open": 1, "overdue": 1, "closed": 2, "median_days_to_close": 15.5},
        "2": {"open": 2, "overdue": 1, "closed": 1, "median_days_to_close": 34.0},
    },
    "area": {
        "none": {"open": 2, "overdue": 1, "closed": 1, "median_days_to_close": 34.0},
        "reliability": {"open": 1, "overdue": 1, "closed": 2, "median_days_to_close": 15.5},
    },
    "owner": {
        "bob": {"open": 1, "overdue": 0, "closed": 1, "median_days_to_close": 10.0},
        "db-heidi": {"open": 0, "overdue": 0, "closed": 1, "median_days_to_close": 21.0},
        "eoc-carol": {"open": 1, "overdue": 1, "closed": 1, "median_days_to_close": 34.0},
        "none": {"open": 1, "overdue": 1, "closed": 0, "median_days_to_close": None},
    },
    "team": {  # db-heidi is in the database team's rotation; nobody else is in a team's
        "database": {"open": 0, "overdue": 0, "closed": 1, "median_days_to_close": 21.0},
        "none": {"open": 3, "overdue": 2, "closed": 2, "median_days_to_close": 22.0},
    },
}


@pytest.mark.parametrize("by", sorted(EXPECTED))
def test_every_figure_as_worked_out_by_hand(
    store: Store, database_url: str, rules: RuleSet, by: str, monkeypatch, capsys
) -> None:
    """`incident-bot report --follow-ups --by X --format json` over November 2026: the contract, each figure."""
    build(store)
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(TEST_RULES))  # the rotations with people in them
    args = ["report", "--follow-ups", "--by", by, "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "from": "2026-11-01T00:00:00+00:00",
        "to": "2026-12-01T00:00:00+00:00",
        "open": 3,
        "overdue": 2,
        "groups": EXPECTED[by],
    }


def test_a_grouping_of_the_other_report_is_refused(monkeypatch, capsys) -> None:
    """`--by month` means nothing for follow-ups: exit 2 with a sentence, not a traceback."""
    assert main(["report", "--follow-ups", "--by", "month"]) == 2
    assert "--by month is not one of severity, area, team, owner" in capsys.readouterr().err


def test_a_follow_up_grouping_is_refused_for_the_incident_report(capsys) -> None:
    """`report --by team` without `--follow-ups`: exit 2 naming the groupings of the incident report."""
    assert main(["report", "--by", "team"]) == 2
    assert "--by team is not one of severity, category, area, month" in capsys.readouterr().err
