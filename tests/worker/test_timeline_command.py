"""`@incident-bot timeline` and the review issue's pre-fill, from the index, through the real delivery job."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.incident import strip_memory
from service.reports.timeline import render_timeline
from service.store import EventKind, Store, TimelineEvent, open_store
from service.store.timeline import Milestones
from service.worker import process_delivery
from service.worker.index import DeliveryIndex
from tests.conftest import body, payload

WJ = "\u2060"


def deliver(name: str, key: str, at: str) -> str:
    """One issue delivery dated `at` (its updated_at) of the issue created at 09:00, through the real job."""
    data = body(name, updated_at=at, created_at="2026-11-27T09:00:00Z")
    return process_delivery(data, {"delivery_id": key, "event_uuid": key})


def comment(text: str, key: str, at: str, user: str = "bob", uid: int = 8, note_id: int = 1241) -> str:
    """A comment on the incident (created at `at`) through the real job."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note=text, created_at=at, updated_at=at, id=note_id)
    data["issue"].update(author_id=51, created_at="2026-11-27T09:00:00Z")
    data["user"].update(username=user, id=uid)
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


def escalated_incident(fake) -> None:
    """Alice's incident opened at 09:00 (the bot sets severity 3) and escalated by her to severity 1 at 09:20."""
    deliver("issue.open.incident", "k1", "2026-11-27T09:00:00Z")
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1", "severity::3", "incident::identification"]
    deliver("issue.update.severity", "k2", "2026-11-27T09:20:00Z")


def test_timeline_command_shows_the_incident_so_far(fake, runtime, indexed: Store) -> None:
    """Bob asks at 09:30: declared, escalation by alice, his own acknowledgement, TTA over its 15 min target."""
    escalated_incident(fake)
    assert comment("@incident-bot timeline", "c1", "2026-11-27T09:30:00Z").startswith("applied")
    reply = strip_memory(fake.bot_notes()[-1]["body"])
    assert "**Timeline** of this incident" in reply
    assert "| 2026-11-27 09:00 | **declared** |" in reply
    assert f"| 2026-11-27 09:20 | escalated: severity 3 → 1 (critical) | @{WJ}alice |" in reply
    assert "| 2026-11-27 09:30 | **acknowledged** |" in reply  # this very comment, not yet in the index
    assert "| Time to acknowledge | 30 min | 15 min | **over by 15 min** |" in reply
    assert "| Time to mitigate | not yet | 4 h 00 min | running |" in reply  # the clock says 10:00
    assert not re.search(r"@(alice|bob)\b", reply)  # names people, pings nobody


def test_a_critical_incidents_review_is_prefilled_with_the_timeline(fake, runtime, indexed: Store) -> None:
    """Closing it at 11:00 opens a review whose description has the timeline and every time against its target."""
    escalated_incident(fake)
    comment("on it", "c1", "2026-11-27T09:30:00Z")
    fake.issues[(1, 23)]["state"] = "closed"
    deliver("issue.close.incident", "k3", "2026-11-27T11:00:00Z")
    (review,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    text = review["description"]
    assert "## Timeline (from the incident index)" in text
    assert "| 2026-11-27 11:00 | **resolved** |" in text and "| 2026-11-27 11:00 | issue closed |" in text
    assert "| Time to mitigate | 2 h 00 min | 4 h 00 min | met |" in text
    assert "| Time to resolve | 2 h 00 min | 24 h 00 min | met |" in text


def test_without_an_index_the_review_is_as_the_rules_write_it(fake, runtime) -> None:
    """A worker keeping no index opens the review from the rules' template alone, with no word about an index."""
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1"]
    deliver("issue.open.incident", "k1", "2026-11-27T09:00:00Z")
    fake.issues[(1, 23)]["state"] = "closed"
    deliver("issue.close.incident", "k2", "2026-11-27T11:00:00Z")
    (review,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    assert "incident declared by @alice" in review["description"] and "index" not in review["description"]


def test_timeline_without_a_readable_index_says_so(fake, runtime) -> None:
    """No index on this worker, or one that will not open: the reply explains, the delivery is applied."""
    deliver("issue.open.incident", "k1", "2026-11-27T09:00:00Z")
    comment("@incident-bot timeline", "c1", "2026-11-27T09:30:00Z")
    assert "keeps no incident index" in strip_memory(fake.bot_notes()[-1]["body"])

    def broken() -> Store:
        raise OSError("disk gone")

    runtime.index = DeliveryIndex(broken)
    assert comment("@incident-bot timeline", "c2", "2026-11-27T09:31:00Z", note_id=1242).startswith("applied")
    assert "cannot be read right now" in strip_memory(fake.bot_notes()[-1]["body"])


def test_an_index_that_fails_once_open_is_logged_once_and_the_reply_says_so(
    fake, runtime, tmp_path: Path, caplog
) -> None:
    """The index opened, then its database went away: one warning names what was not read, the delivery is applied."""
    path = tmp_path / "incidents.sqlite3"
    opened = open_store(f"sqlite:///{path}")
    runtime.index = DeliveryIndex(lambda: opened)
    deliver("issue.open.incident", "k1", "2026-11-27T09:00:00Z")
    opened.engine.dispose()
    path.unlink()  # the next connection finds an empty database: every read raises
    with caplog.at_level(logging.WARNING, logger="incident_bot"):
        assert comment("@incident-bot timeline", "c1", "2026-11-27T09:30:00Z").startswith("applied")
    assert "cannot be read right now" in strip_memory(fake.bot_notes()[-1]["body"])
    lines = [r.getMessage() for r in caplog.records if "incident index not read" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("incident index not read for the timeline: OperationalError: ")
    opened.engine.dispose()


def test_help_lists_the_timeline_command(fake, runtime) -> None:
    """`help` names `timeline` among the commands."""
    deliver("issue.open.incident", "k1", "2026-11-27T09:00:00Z")
    comment("@incident-bot help", "c1", "2026-11-27T09:30:00Z")
    assert "`@incident-bot timeline`" in strip_memory(fake.bot_notes()[-1]["body"])


T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
hostile = st.text(alphabet=st.sampled_from(list("ab|\n\r<>@/[]()!`*_#&;:\\ \u2028\u0085")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(EventKind)), hostile, hostile, hostile, hostile, st.integers(0, 10_000)),
        max_size=12,
    )
)
def test_hostile_values_keep_the_tables_shape(raw: list[tuple[EventKind, str, str, str, str, int]]) -> None:
    """Whatever names, values and actors the events carry: one table row per line, three cells, no mention, no HTML."""
    events = [TimelineEvent(T0 + timedelta(minutes=m), k, n, f, t, a) for k, n, f, t, a, m in raw]
    milestones = Milestones(T0, None, None, None, 1, None)
    text = render_timeline(
        events,
        milestones,
        targets={1: {"acknowledge_minutes": 15}},
        severity_names={1: "x|y"},
        now=T0 + timedelta(hours=1),
    )
    table, _, targets = text.partition("\n\n")
    for line in table.splitlines():
        assert line.startswith("| ") and line.endswith(" |") and len(re.findall(r"(?<!\\)\|", line)) == 4, line
    assert 3 <= len(table.splitlines()) <= 3 + len(events)  # header, declared, at most one row per event
    assert not re.search(r"@[A-Za-z0-9_]", text) and "<" not in text
    assert "| Time to acknowledge | not yet | 15 min | **past target by 45 min** |" in targets
