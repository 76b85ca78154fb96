"""The documented definitions, one clause per test, on timeline events (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.store import EventKind, TimelineEvent, Vocabulary
from service.store.timeline import Milestones, derive, label_events

C = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the issue's created_at
V = Vocabulary()
BOT = V.bot_username


def at(m: float) -> datetime:
    return C + timedelta(minutes=m)


def ev(m: float, kind: EventKind, actor: str = "bob", frm: str = "", to: str = "", actor_id: int | None = None):
    ids = {"alice": 7, "bob": 8, "carol": 9}
    return TimelineEvent(at(m), kind, "", frm, to, actor, actor_id or ids.get(actor), actor == BOT)


def times(*events: TimelineEvent, issue_type: str = "issue", open_now: bool = False) -> Milestones:
    return derive(
        events,
        V,
        created_at=C,
        issue_type=issue_type,
        author_id=7,
        author="alice",
        severity_now=None,
        open_now=open_now,
    )


def test_start_is_created_at_when_labelled_from_creation() -> None:
    """Labelled at creation (GitLab's label event a moment after created_at): start = created_at."""
    assert times(ev(0.05, EventKind.INCIDENT, "alice", to="added")).start == C


def test_start_is_created_at_for_type_incident() -> None:
    """Type Incident: start = created_at, whenever (or whether) the label was added."""
    assert times(ev(30, EventKind.INCIDENT, "bob", to="added"), issue_type="incident").start == C
    assert times(issue_type="incident").start == C


def test_start_is_the_first_time_the_label_was_added_otherwise() -> None:
    """A plain issue labelled later: start = the first addition of the incident label (not a later re-add)."""
    events = [
        ev(30, EventKind.INCIDENT, to="added"),
        ev(40, EventKind.INCIDENT, to="removed"),
        ev(50, EventKind.INCIDENT, to="added"),
    ]
    assert times(*events).start == at(30)


def test_acknowledged_by_a_comment_of_someone_but_the_author_and_the_bot() -> None:
    """The author's and the bot's comments do not acknowledge; the first other person's does."""
    m = times(
        ev(0, EventKind.INCIDENT, "alice", to="added"),
        ev(1, EventKind.COMMENT, "alice"),
        ev(2, EventKind.COMMENT, BOT),
        ev(3, EventKind.STATUS_UPDATE, "carol"),
        ev(4, EventKind.COMMENT, "bob"),
    )
    assert m.acknowledged == at(3)


def test_acknowledged_by_a_person_setting_mitigation_or_later() -> None:
    """A person's phase move to mitigation or later acknowledges; the bot's does not, nor identification."""
    m = times(
        ev(0, EventKind.INCIDENT, "alice", to="added"),
        ev(0, EventKind.PHASE, BOT, "", "identification"),
        ev(5, EventKind.PHASE, BOT, "identification", "remediation"),
        ev(6, EventKind.PHASE, "alice", "remediation", "identification"),
        ev(7, EventKind.PHASE, "alice", "identification", "mitigation"),
    )
    assert m.acknowledged == at(7)  # the author counts here: the definition excludes only the bot


def test_mitigated_first_remediation_post_incident_or_close() -> None:
    """Mitigated: the first of entering remediation or post-incident, or closing; mitigation does not count."""
    base = [
        ev(0, EventKind.INCIDENT, "alice", to="added"),
        ev(5, EventKind.PHASE, frm="identification", to="mitigation"),
    ]
    assert times(*base, ev(9, EventKind.STATE, to="closed")).mitigated == at(9)
    assert times(*base, ev(8, EventKind.PHASE, frm="mitigation", to="remediation")).mitigated == at(8)
    assert times(*base).mitigated is None


def test_resolved_is_the_last_close_or_post_incident_with_no_reopening_after() -> None:
    """Closed, reopened, closed again: resolved at the last close; post-incident then close: the close."""
    first = [ev(0, EventKind.INCIDENT, "alice", to="added"), ev(10, EventKind.STATE, to="closed")]
    reopened = [*first, ev(20, EventKind.STATE, "carol", to="reopened")]
    assert times(*first).resolved == at(10)
    assert times(*reopened, open_now=True).resolved is None
    assert times(*reopened, ev(30, EventKind.STATE, to="closed")).resolved == at(30)
    post = [
        ev(0, EventKind.INCIDENT, "alice", to="added"),
        ev(10, EventKind.PHASE, frm="remediation", to="post-incident"),
    ]
    assert times(*post).resolved == at(10)
    assert times(*post, ev(60, EventKind.STATE, to="closed")).resolved == at(60)
    left = [*post, ev(20, EventKind.PHASE, frm="post-incident", to="mitigation")]
    assert times(*left, open_now=True).resolved is None


def test_nothing_before_the_start_counts() -> None:
    """A comment or a close before the issue became an incident does not acknowledge or mitigate it."""
    m = times(
        ev(5, EventKind.COMMENT, "bob"),
        ev(6, EventKind.STATE, to="closed"),
        ev(7, EventKind.STATE, to="reopened"),
        ev(30, EventKind.INCIDENT, to="added"),
    )
    assert (m.start, m.acknowledged, m.mitigated, m.resolved) == (at(30), None, None, None)


def test_highest_severity_reached_survives_de_escalation() -> None:
    """Escalated 3 -> 1 then lowered to 2: the incident counts under severity 1."""
    m = derive(
        [
            ev(0, EventKind.SEVERITY, frm="", to="3"),
            ev(5, EventKind.SEVERITY, frm="3", to="1"),
            ev(9, EventKind.SEVERITY, frm="1", to="2"),
        ],
        V,
        created_at=C,
        issue_type="incident",
        author_id=7,
        author="alice",
        severity_now=2,
    )
    assert m.highest_severity == 1


def test_label_edits_read_as_the_planner_reads_them() -> None:
    """A scoped swap is one step (3 -> 1); two phase labels at once read as the later phase."""
    events = label_events({"incident", "severity::3"}, {"incident", "severity::1"}, C, V, actor="bob", actor_id=8)
    assert [(e.kind, e.value_from, e.value_to) for e in events] == [(EventKind.SEVERITY, "3", "1")]
    both = label_events(set(), {"incident::identification", "incident::remediation"}, C, V, actor="bob", actor_id=8)
    assert [(e.kind, e.value_to) for e in both] == [(EventKind.PHASE, "remediation")]
    assert label_events({"x"}, {"x"}, C, V, actor="bob", actor_id=8) == []
