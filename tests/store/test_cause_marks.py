"""The cause marker of the bot's confirmation (issue 19) read back: the change `record_cause` wrote comes back whole
whatever the names in it, a marker from before it carried the change still gives its timeline event, hostile text
never raises, and reindex's writer leaves an incident no confirmation marks as the index has it."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from service.store import Observation, Store
from service.store.cause_events import cause_event, cause_events, marked_causes, marker
from service.store.causes import rebuild_causes, record_cause
from service.store.model import Cause, CauseKind, MarkedCause
from service.store.schema import incident_causes
from tests.web.board.seed import incident

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
NAMES = st.text(st.characters(codec="utf-8"), max_size=300)


@given(by=NAMES, flag=NAMES.filter(bool), project=st.integers(1, 2**63 - 1), number=st.integers(1, 2**31 - 1))
def test_a_marker_gives_back_the_cause_it_was_written_with(by: str, flag: str, project: int, number: int) -> None:
    """Any actor and flag name (`-->`, spaces, quotes, newlines): the marker's event and cause come back as written,
    and the HTML comment ends where the bot ended it."""
    for cause in (
        Cause(1, 23, CauseKind.DEPLOYMENT, project, deployment_id=number, recorded_by=by[:255]),
        Cause(1, 23, CauseKind.MERGE_REQUEST, project, merge_request_iid=number, recorded_by=by[:255]),
        Cause(1, 23, CauseKind.FEATURE_FLAG, project, flag_name=flag[:255], recorded_by=by[:255]),
    ):
        event = cause_event(AT, f"feature flag {flag}", by)
        text = f"Cause recorded.\n\n{marker(event, cause)}\n\n--> after"
        assert text.count("-->") == 2
        assert cause_events(text) == [event]
        assert marked_causes(text, 1, 23) == [MarkedCause(AT, cause)]


def test_an_older_marker_gives_its_event_and_decides_no_cause() -> None:
    """A confirmation's marker written before markers carried the change: its timeline event, and no cause (reindex
    keeps the index's); a clear's marker clears either way."""
    confirmed = "<!-- incident-bot:cause confirmed 1795773600 alice deployment%201%20%28sha1%29%20to%20production -->"
    cleared = "<!-- incident-bot:cause cleared 1795773600 alice  -->"
    assert [(e.name, e.value_to, e.actor) for e in cause_events(confirmed)] == [
        ("confirmed", "deployment 1 (sha1) to production", "alice")
    ]
    assert marked_causes(confirmed, 1, 23) == [None]
    assert marked_causes(cleared, 1, 23) == [MarkedCause(datetime.fromtimestamp(1795773600, UTC), None)]


@given(st.text(max_size=400), st.sampled_from(["deployment", "merge_request", "feature_flag", "commit"]))
def test_hostile_markers_never_raise(tail: str, kind: str) -> None:
    """Numbers out of the index's range, a kind that is none: no cause, never an exception."""
    for value in ("0", "9" * 30, "-1", "%41", tail.replace(" ", "")[:50] or "x"):
        body = f"<!-- incident-bot:cause confirmed 1795773600 a b {kind} 1 {value} --> {tail}"
        for mark in marked_causes(body, 1, 23):
            assert mark is None or mark.cause is None or mark.cause.kind.value == kind
    assert marked_causes("<!-- incident-bot:cause confirmed 1 a b deployment 99999999999999999999 1 -->", 1, 2) == []
    assert marked_causes("<!-- incident-bot:cause confirmed 999999999999 a b deployment 1 1 -->", 1, 2) == []


def test_reindex_writes_only_what_a_confirmation_marks(store: Store) -> None:
    """#10 is marked caused by deployment 11, #11 cleared, #12 unmarked: #12 keeps its cause, #11 has none."""
    for iid in (10, 11, 12):
        store.record(incident(iid, f"Incident {iid}", now=AT, started_minutes_ago=30, project_id=1))
        record_cause(store.engine, 1, iid, Cause(1, iid, CauseKind.FEATURE_FLAG, 1, flag_name="f"))
    deployment = Cause(1, 10, CauseKind.DEPLOYMENT, 1, deployment_id=11, recorded_by="alice")
    marked = [
        Observation(1, "group/project", 10, cause=MarkedCause(AT, deployment)),
        Observation(1, "group/project", 11, cause=MarkedCause(AT, None)),
        Observation(1, "group/project", 12),
    ]
    assert rebuild_causes(store.engine, marked) == 1
    assert rebuild_causes(store.engine, marked) == 1
    with store.engine.connect() as conn:
        rows = [(r.iid, r.kind, r.deployment_id, r.flag_name) for r in conn.execute(incident_causes.select())]
    assert sorted(rows) == [(10, "deployment", 11, None), (12, "feature_flag", None, "f")]
