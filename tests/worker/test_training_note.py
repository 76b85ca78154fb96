"""`require_training_days`: staffing someone who has not practised the role lately adds a note, never a refusal.

The shipped rules ask 90 days of the Incident Manager. Through the real delivery job, with
the training record seeded in the index (SQLite and PostgreSQL); the clock says 2026-11-27 10:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.incident import strip_memory
from service.rules import RuleSet
from service.rules.drills import drill_marker
from service.store import Store
from service.store.training import TrainingRecord, record
from service.worker.index import DeliveryIndex
from tests.conftest import NOW
from tests.drillscript import DrillScript
from tests.fakegitlab import FakeGitLab
from tests.worker.helpers import on_call, send

IM = "**Incident Manager (IM)**"


def practised(store: Store, username: str, days_ago: int, role: str = "incident-manager") -> None:
    """`username` held `role` in a drill that closed `days_ago` days before the clock's now."""
    closed = NOW - timedelta(days=days_ago)
    drill = TrainingRecord(1, "drills/db", 7, "database-outage", username, role, closed, closed, closed)
    record(store.engine, [drill])


def escalate(fake: FakeGitLab, script: DrillScript | None = None) -> str:
    """A real incident opened at 09:00 and raised to severity 1 at 09:05 (which staffs the IM); that comment."""
    script = script or DrillScript(fake, send)
    script.open(0)
    script.label(5, "alice", add=("severity::1",), remove=("severity::3",))
    (note,) = [n for n in fake.bot_notes() if IM in n["body"] and "on call in" in n["body"]]
    return strip_memory(note["body"])


def note(username: str, last: str) -> str:
    return f"*Training*: @{username} has not practised {IM} in a drill in the last 90 days (last: {last})."


@pytest.mark.parametrize(("days_ago", "shown"), [(None, "never"), (200, "2026-05-11"), (10, None)])
def test_staffing_an_im_who_has_not_practised_lately_says_so(
    fake, runtime, indexed: Store, rules: RuleSet, days_ago: int | None, shown: str | None
) -> None:
    """Never practised or 200 days ago: the note under the staffing; 10 days ago: none; staffed either way."""
    im = on_call(rules, "incident-managers")
    if days_ago is not None:
        practised(indexed, im, days_ago)
    practised(indexed, im, 1, role="eoc")  # another role practised yesterday does not count
    comment = escalate(fake)
    assert f"{IM}: @{im} (on call in `incident-managers`), assigned." in comment
    if shown is None:
        assert "*Training*" not in comment
    else:
        staffing = comment.split(f"{IM}: @{im}", 1)[1]
        assert note(im, shown) in staffing
        assert staffing.index(note(im, shown)) < staffing.find("**Communications Manager")  # under the IM's staffing
    assert fake.users[im] in [a["id"] for a in fake.issues[(1, 23)]["assignees"]]
    assert "*Training*" not in "".join(n["body"] for n in fake.bot_notes() if IM not in n["body"])  # EOC: no rule


def test_a_handoff_to_someone_unpractised_gets_the_note_in_its_reply(
    fake, runtime, indexed: Store, rules: RuleSet
) -> None:
    """`@bot handoff incident-manager @x`: x never practised, so the hand-off's reply says so."""
    im = on_call(rules, "incident-managers")
    other = next(m for m in rules.rotations["incident-managers"].members if m != im)
    practised(indexed, im, 3)
    script = DrillScript(fake, send)
    assert "*Training*" not in escalate(fake, script)
    script.comment(9, "alice", f"@incident-bot handoff incident-manager @{other}")
    reply = strip_memory(fake.bot_notes()[-1]["body"])
    assert f"{IM} handed off from @{im} to @{other}." in reply and note(other, "never") in reply


def test_a_drill_gets_no_training_note(fake, runtime, indexed: Store) -> None:
    """In a drill the staffing is the practice: no note, though nobody ever practised."""
    issue = fake.issues[(1, 23)]
    issue["labels"], issue["description"] = ["incident", "drill"], drill_marker("database-outage")
    assert "*Training*" not in escalate(fake)


@pytest.mark.parametrize("broken", [False, True])
def test_without_a_readable_index_there_is_no_note_and_no_failure(fake, runtime, broken: bool) -> None:
    """No index, or one that will not open: the IM is staffed as always, with no note."""
    if broken:

        def opener() -> Store:
            raise OSError("disk gone")

        runtime.index = DeliveryIndex(opener)
    comment = escalate(fake)
    assert "on call in `incident-managers`" in comment and "*Training*" not in comment


def test_the_staffing_is_written_before_the_training_record_is_read(
    fake, runtime, indexed: Store, rules: RuleSet
) -> None:
    """The IM is assigned in GitLab before the index is asked when they last practised; the note still shows."""
    im = on_call(rules, "incident-managers")
    index = runtime.index
    opened = index.store
    written_before_read: list[list[str]] = []

    def store_after_writes(rules: RuleSet, bot_username: str, now: float | None = None) -> Store | None:
        """The index as the job asks for it, noting what GitLab had been written by then."""
        written_before_read.append([f"{c.method} {c.path}" for c in fake.writes()])
        return opened(rules, bot_username, now)

    script = DrillScript(fake, send)
    script.open(0)
    before = len(fake.writes())
    index.store = store_after_writes
    script.label(5, "alice", add=("severity::1",), remove=("severity::3",))
    assert written_before_read, "the escalation read the index"
    assert "POST /api/graphql" in written_before_read[0][before:]  # the IM assigned first (by username)
    (comment,) = [n for n in fake.bot_notes() if IM in n["body"] and "on call in" in n["body"]]
    assert note(im, "never") in strip_memory(comment["body"])
