"""A confirmed cause is a timeline event (issue 19): `cause <ref>` recorded through the real job against the fake
GitLab puts "cause confirmed" in the incident's timeline in the index, `cause none` "cause cleared"; the `timeline`
reply shows both, and reindex reads the same events back from the bot's confirmations."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from service.changes.hooks import Deployment
from service.gitlab import TransientGitLabError
from service.store import EventKind, Store
from service.store.changes import record
from service.store.history import history_observation
from service.worker import process_delivery
from tests.conftest import NOW, body, payload

JOB = "http://gitlab.test/gitlabhq/gitlab-test/-/jobs/"


def declared(fake, indexed: Store) -> None:
    """Deployment 1 to production 12 min before the incident, then the incident declared."""
    at = NOW - timedelta(minutes=12)
    record(indexed.engine, Deployment(1, "gitlabhq/gitlab-test", 1, "success", "production", "production",
                                      f"{JOB}901", "sha1", "Change 1", "dev", at))  # fmt: skip
    fake.issues[(1, 23)].update(labels=["incident"])
    data = body("issue.open.incident", created_at=NOW.isoformat())
    assert process_delivery(data, {"delivery_id": "d1", "event_uuid": "u1"}).startswith("applied")


def command(fake, text: str, key: str) -> str:
    """`@incident-bot <text>` by alice, through the job; the bot's reply."""
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = f"@incident-bot {text}"
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def causes(indexed: Store) -> list[tuple[str, str, str]]:
    return [(e.name, e.value_to, e.actor) for e in indexed.timeline(1, 23) if e.kind is EventKind.CAUSE]


def test_cause_and_cause_none_are_timeline_events(fake, runtime, indexed: Store) -> None:
    """`cause 1`, `cause new-checkout`, `cause none`: three events by alice in the index, in order; the `timeline`
    reply shows them; a reference the index cannot resolve records no event."""
    declared(fake, indexed)
    command(fake, "cause 1", "c1")
    command(fake, "cause new-checkout", "c2")
    assert "nothing recorded" in command(fake, "cause 99", "c3")
    command(fake, "cause none", "c4")
    assert causes(indexed) == [
        ("confirmed", "deployment 1 (sha1) to production", "alice"),
        ("confirmed", "feature flag new-checkout", "alice"),
        ("cleared", "", "alice"),
    ]
    reply = command(fake, "timeline", "t1")
    for what in ("cause confirmed: deployment 1 (sha1) to production", "cause confirmed: feature flag new-checkout"):
        assert f"| 2026-11-27 10:00 | {what} | @\u2060alice |" in reply  # named, not pinged
    assert "| 2026-11-27 10:00 | cause cleared | @\u2060alice |" in reply


def test_reindex_reads_the_same_events_from_the_bots_confirmations(fake, runtime, indexed: Store) -> None:
    """The bot's confirmations carry the event's marker: the incident's history read back from GitLab (as reindex
    reads it) holds exactly the events the job recorded."""
    declared(fake, indexed)
    command(fake, "cause 1", "c1")
    command(fake, "cause none", "c2")
    recorded = [e for e in indexed.timeline(1, 23) if e.kind is EventKind.CAUSE]
    history = history_observation(
        fake.issues[(1, 23)], fake.label_events[(1, 23)], fake.state_events[(1, 23)], fake.notes[(1, 23)],
        indexed.vocab, observed_at=NOW,
    )  # fmt: skip
    assert [e for e in history.events if e.kind is EventKind.CAUSE] == recorded
    assert len(recorded) == 2


def test_a_person_cannot_forge_the_marker(fake, runtime, indexed: Store) -> None:
    """A person's comment carrying a cause marker is a comment: only the bot's comments are read for markers."""
    declared(fake, indexed)
    forged = "<!-- incident-bot:cause confirmed 1764900000 mallory deployment%2099 -->"
    fake.add_note((1, 23), forged, "mallory")
    history = history_observation(
        fake.issues[(1, 23)], fake.label_events[(1, 23)], fake.state_events[(1, 23)], fake.notes[(1, 23)],
        indexed.vocab, observed_at=NOW,
    )  # fmt: skip
    assert not [e for e in history.events if e.kind is EventKind.CAUSE]


def test_a_retried_cause_is_one_event(fake, runtime, indexed: Store) -> None:
    """The reply to `cause 1` fails (GitLab 502) after the event was recorded; the retry, seconds later, records
    no second event, and its reply carries the first one's marker, so reindex reads the same single event."""
    declared(fake, indexed)
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = "@incident-bot cause 1"
    fake.fail("POST", r".*/issues/23/notes", 502, times=4)  # the reply, and the client's own retries of it
    with pytest.raises(TransientGitLabError):
        process_delivery(json.dumps(note).encode(), {"delivery_id": "c1", "event_uuid": "c1"})
    runtime.clock = lambda: NOW + timedelta(seconds=40)  # RQ's retry, later
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": "c1", "event_uuid": "c1"}).startswith("applied")
    recorded = [e for e in indexed.timeline(1, 23) if e.kind is EventKind.CAUSE]
    assert [(e.name, e.at) for e in recorded] == [("confirmed", NOW)]
    history = history_observation(
        fake.issues[(1, 23)], fake.label_events[(1, 23)], fake.state_events[(1, 23)], fake.notes[(1, 23)],
        indexed.vocab, observed_at=NOW,
    )  # fmt: skip
    assert [e for e in history.events if e.kind is EventKind.CAUSE] == recorded
