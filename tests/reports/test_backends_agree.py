"""One history with sub-second times and ties gives the same report, to the last digit, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.reports import GroupBy, render, report_from_store
from service.reports.formats import Format
from service.reports.training import build_training, contract
from service.rules import RuleSet
from service.store import EventKind, Observation, Store, TimelineEvent, make_engine, migrate
from service.store.observe import vocabulary
from service.store.training import TrainingRecord, record, records
from tests.reports.helpers import TARGETS

B = datetime(2026, 3, 2, 8, 0, 0, 400_000, tzinfo=UTC)  # a start with a fraction of a second
NOW = datetime(2026, 3, 31, 12, 0, 0, 900_000, tzinfo=UTC)
WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
BOT = "incident-bot"


def _event(at: datetime, kind: EventKind, actor: str, frm: str = "", to: str = "") -> TimelineEvent:
    return TimelineEvent(at, kind, "", frm, to, actor, 7 if actor == "alice" else 8, actor == BOT)


def history(store: Store) -> None:
    """Thirty incidents: starts and milestones a fraction of a second off whole minutes (0.3 s is 0.005 min, where
    rounding to two decimals tips), several starting at the same instant, events tied at one instant."""
    for n in range(30):
        start = B + timedelta(hours=n // 3 * 5)  # three incidents share each start: ties in every ordering
        frac = timedelta(milliseconds=(n * 137) % 1000)
        ack = start + timedelta(minutes=10 + n, milliseconds=300) + frac
        mitigated = start + timedelta(minutes=240, milliseconds=300 + 7 * n)
        resolved = start + timedelta(minutes=1200, milliseconds=600 - 11 * n)
        events = [
            _event(start, EventKind.INCIDENT, "alice", to="added"),
            _event(start, EventKind.SEVERITY, "alice", "", str(1 + n % 3)),
            _event(start, EventKind.PHASE, BOT, "", "identification"),
            _event(ack, EventKind.COMMENT, "bob"),
            _event(ack, EventKind.PHASE, "bob", "identification", "mitigation"),  # tied with the comment
            _event(mitigated, EventKind.PHASE, "bob", "mitigation", "remediation"),
        ]
        closed = n % 4 != 0
        if closed:
            events += [
                _event(resolved, EventKind.STATE, "bob", to="closed"),
                _event(resolved, EventKind.PHASE, BOT, "remediation", "post-incident"),
            ]
        store.record(
            Observation(
                project_id=1 + n % 2,
                project_path=f"shop/p{1 + n % 2}",
                iid=100 + n,
                title=f"Incident {n}",
                url=f"http://gitlab.test/shop/p{1 + n % 2}/-/issues/{100 + n}",
                severity=1 + n % 3,
                phase="post-incident" if closed else "remediation",
                state="closed" if closed else "opened",
                author="alice",
                author_id=7,
                category=("availability", "security", None)[n % 3],
                created_at=start,
                observed_at=NOW,
                events=tuple(events),
            )
        )
    record(
        store.engine,
        [
            TrainingRecord(9, "ops/drills", 9 + n, "database-outage", user, "eoc", B, B + timedelta(seconds=n + 0.5), B)
            for n, user in enumerate(["eoc-carol", "eoc-dave", "eoc-carol"])
        ],
    )


def everything(store: Store, rules: RuleSet) -> dict[str, object]:
    """The JSON of every report the history gives: each grouping, the training report."""
    out: dict[str, object] = {}
    for by in GroupBy:
        report = report_from_store(store, start=WINDOW[0], end=WINDOW[1], by=by, targets=TARGETS, now=NOW)
        out[by.value] = json.loads(render(report, Format.JSON))
    out["training"] = contract(build_training(records(store.engine), rules, NOW))
    return out


@pytest.fixture
def both(tmp_path: Path, postgres_url: str, rules: RuleSet) -> Iterator[list[Store]]:
    """A migrated, empty index on each backend."""
    from tests.indexdb import empty_database

    empty_database(postgres_url)
    stores = []
    for url in (f"sqlite:///{tmp_path / 'incidents.sqlite3'}", postgres_url):
        engine = make_engine(url)
        migrate(engine)
        stores.append(Store(engine, vocabulary(rules, BOT)))
    yield stores
    for store in stores:
        store.engine.dispose()
    empty_database(postgres_url)


def test_sqlite_and_postgresql_give_the_same_reports(both: list[Store], rules: RuleSet) -> None:
    """The whole JSON of every report (each grouping, training) is equal on both backends."""
    sqlite, postgres = both
    for store in both:
        history(store)
    on_sqlite, on_postgres = everything(sqlite, rules), everything(postgres, rules)
    for name in on_sqlite:
        assert on_sqlite[name] == on_postgres[name], name
    severity = on_sqlite["severity"]
    assert isinstance(severity, dict) and severity["incidents"] == 30
