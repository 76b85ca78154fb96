"""Alerts in the index and operations: "alerts resolved" on the timeline (from the job, and the same event from
reindex), `report --by source` and the board's tag, `doctor`'s alert rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from redis import Redis

from service.config import Settings
from service.ops.alertcheck import check_alerts
from service.ops.table import Status
from service.reports.figures import GroupBy, _key
from service.store import Store
from service.store.history import history_observation
from service.store.measure import measured
from service.store.model import EventKind, resolutions
from service.store.query import Scope
from service.web.board.queries import _board_row
from service.worker import Runtime
from service.worker.alerts import process_alert
from tests.alerts.samples import alertmanager, am_alert, dumps
from tests.conftest import NOW
from tests.fakegitlab import FakeGitLab

OPS = 1
ENDED = datetime(2026, 11, 27, 10, 5, tzinfo=UTC)  # the sample's endsAt


def alert(payload: dict, delivery: str) -> str:
    return process_alert(dumps(payload), {"delivery_id": delivery, "source": "alertmanager"})


def test_resolution_is_a_timeline_event_and_the_incident_counts_as_from_an_alert(
    fake: FakeGitLab, runtime: Runtime, indexed: Store
) -> None:
    """Declared through the ordinary planner, then every alert resolved: an `alerts_resolved` event at the last
    alert's end; `report --by source` files the incident under "alert"; reindex reads the same event back."""
    from rq import Queue, SimpleWorker

    alert(alertmanager(), "d-1")
    SimpleWorker(
        [Queue(runtime.settings.queue_name, connection=runtime.connection)], connection=runtime.connection
    ).work(burst=True)
    [iid] = [i for (pid, i) in fake.issues if i > 500]
    alert(alertmanager(am_alert(status="resolved")), "d-2")
    resolved = [e for e in indexed.timeline(OPS, iid) if e.kind is EventKind.ALERTS_RESOLVED]
    assert [e.at for e in resolved] == [ENDED]
    [row] = [r for r in measured(indexed.engine, Scope(), NOW) if r.iid == iid]
    assert row.from_alert and _key(row, GroupBy.SOURCE) == "alert"
    [note] = [n for n in fake.notes[(OPS, iid)] if "All alerts of this group have resolved" in n["body"]]
    assert resolutions(note["body"], "incident-bot") == resolved


def test_reindex_reads_alerts_resolved_from_the_comment(store: Store) -> None:
    """A bot comment carrying the resolution marker is the same timeline event on reindex; a person's is nothing."""
    issue = {
        "project_id": 1,
        "iid": 7,
        "title": "t",
        "web_url": "http://g/7",
        "labels": ["incident"],
        "state": "opened",
    }
    body = (
        "**All alerts of this group have resolved.**\n\n<!-- incident-bot:alert-note "
        + "a" * 32
        + " resolved-1796119500 -->"
    )
    notes = [
        {"id": 1, "body": body, "author": {"username": "incident-bot"}, "created_at": "2026-11-27T10:06:00Z"},
        {"id": 2, "body": body, "author": {"username": "mallory"}, "created_at": "2026-11-27T10:07:00Z"},
    ]
    obs = history_observation(issue, [], [], notes, store.vocab, observed_at=NOW)
    found = [e for e in obs.events if e.kind is EventKind.ALERTS_RESOLVED]
    assert [(e.name, e.at.timestamp(), e.by_bot) for e in found] == [("a" * 32, 1796119500.0, True)]


def test_board_rows_say_which_incidents_came_from_alerts() -> None:
    """The board's query reads the marker test as a boolean column: 1/0 on SQLite become True/False."""
    base = [
        1,
        1,
        "ops/production",
        7,
        "t",
        "u",
        False,
        False,
        None,
        None,
        3,
        None,
        "opened",
        {},
        None,
        None,
        None,
        None,
    ]
    assert _board_row([*base, 1]).from_alert is True and _board_row([*base, 0]).from_alert is False


def test_doctor_says_whether_alerts_are_on_and_when_one_last_came(redis_conn: Redis, settings: Settings) -> None:
    """Off without the token; on, with silences' target and the last alert's time (warn while none came)."""
    assert [r.detail.split(" ")[0] for r in check_alerts(redis_conn, settings)] == ["off"]
    on = replace(settings, alerts_token="t", alertmanager_url="http://am:9093")
    rows = check_alerts(redis_conn, on, now=1000.0)
    assert rows[-1].status is Status.WARN and rows[1].detail == "http://am:9093"
    redis_conn.set(on.keys.alert_last_received, "940")
    assert check_alerts(redis_conn, on, now=1000.0)[-1].detail == "1970-01-01 00:15:40 UTC (1 min ago)"
