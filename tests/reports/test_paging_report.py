"""`report` counts the pages sent and acknowledged within target per rotation (SQLite and PostgreSQL): figures
computed by hand below, in the JSON contract, the Markdown table and the CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from service.reports import Format, GroupBy, contract, render, report_from_store
from service.reports.targets import targets_from_rules
from service.rules import RuleSet
from service.store import EventKind, Observation, Store, TimelineEvent
from tests.web.board.seed import incident

DAY = datetime(2026, 11, 27, tzinfo=UTC)
NOW = DAY + timedelta(days=1)
BOT = "incident-bot"


def paged(at: datetime, page: str, person: str, rotation: str, within: int) -> TimelineEvent:
    return TimelineEvent(at, EventKind.PAGE, page, rotation, str(within), person, None, True)


def acked(at: datetime, page: str, person: str) -> TimelineEvent:
    return TimelineEvent(at, EventKind.PAGE_ACK, page, "", "comment", person, None, False)


def with_events(obs: Observation, *events: TimelineEvent, **fields: object) -> Observation:
    return replace(obs, events=(*obs.events, *events), **fields)  # type: ignore[arg-type]  # fields of Observation


def seed(store: Store) -> None:
    """Four incidents in the window (one a drill), one before it; the pages below, minute by minute."""
    a, b, c = DAY + timedelta(hours=9), DAY + timedelta(hours=10), DAY + timedelta(hours=11)
    m = timedelta(minutes=1)
    records = [
        # carol paged at 09:00 (5 min), acknowledges at 09:04: within target.
        with_events(
            incident(1, "A", now=NOW, started_minutes_ago=(NOW - a).total_seconds() / 60),
            paged(a, "p1", "eoc-carol", "engineers-on-call", 5),
            acked(a + 4 * m, "p1", "eoc-carol"),
        ),
        # carol paged at 10:00, never acknowledges; alice paged at 10:05 (10 min), acknowledges at 10:20: late.
        with_events(
            incident(2, "B", now=NOW, started_minutes_ago=(NOW - b).total_seconds() / 60),
            paged(b, "p2", "eoc-carol", "engineers-on-call", 5),
            paged(b + 5 * m, "p2", "im-alice", "incident-managers", 10),
            acked(b + 20 * m, "p2", "im-alice"),
        ),
        # dave paged at 11:00 (5 min), acknowledges at 11:05 exactly: within; a holder with no rotation, no ack.
        with_events(
            incident(3, "C", now=NOW, started_minutes_ago=(NOW - c).total_seconds() / 60),
            paged(c, "p3", "eoc-dave", "engineers-on-call", 5),
            paged(c, "p3", "someone", "", 5),
            acked(c + 5 * m, "p3", "eoc-dave"),
        ),
        # A drill's pages and an incident that started before the window count for nothing.
        with_events(
            incident(4, "D", now=NOW, started_minutes_ago=120),
            paged(NOW - 2 * timedelta(hours=1), "p4", "eoc-carol", "engineers-on-call", 5),
            drill=True,
        ),
        with_events(
            incident(5, "E", now=NOW, started_minutes_ago=3 * 24 * 60),
            paged(NOW - timedelta(days=3), "p5", "eoc-carol", "engineers-on-call", 5),
        ),
    ]
    for obs in records:
        store.record(obs)


def test_pages_per_rotation_on_both_backends(store: Store, rules: RuleSet) -> None:
    """engineers-on-call: 3 sent, 2 within target; incident-managers: 1 sent, 0; no rotation: 1 sent, 0."""
    seed(store)
    report = report_from_store(
        store, start=DAY, end=NOW, by=GroupBy.SEVERITY, targets=targets_from_rules(rules), now=NOW
    )
    assert contract(report)["pages"] == {
        "(no rotation)": {"sent": 1, "acknowledged_within_target": 0},
        "engineers-on-call": {"sent": 3, "acknowledged_within_target": 2},
        "incident-managers": {"sent": 1, "acknowledged_within_target": 0},
    }
    md = render(report, Format.MD)
    assert "| engineers-on-call | 3 | 2 |" in md and "| incident-managers | 1 | 0 |" in md
    table = render(report, Format.CSV).split("\n\n", 1)[1]
    assert list(csv.reader(io.StringIO(table))) == [
        ["rotation", "pages_sent", "acknowledged_within_target"],
        ["(no rotation)", "1", "0"],
        ["engineers-on-call", "3", "2"],
        ["incident-managers", "1", "0"],
    ]


def test_no_pages_no_table(store: Store, rules: RuleSet) -> None:
    """Nothing paged: `pages` is an empty object and the Markdown and CSV are as before (no second table)."""
    store.record(incident(1, "A", now=NOW, started_minutes_ago=60))
    report = report_from_store(
        store, start=DAY, end=NOW, by=GroupBy.SEVERITY, targets=targets_from_rules(rules), now=NOW
    )
    assert contract(report)["pages"] == {}
    assert "Pages by rotation" not in render(report, Format.MD) and "\n\n" not in render(report, Format.CSV)
