"""The worker's side: one applied delivery (real payloads, real planner) becomes one Observation."""

from __future__ import annotations

from datetime import UTC, datetime

from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue, state_from_event
from service.plan import Plan
from service.rules import RuleSet
from service.store import EventKind
from service.store.observe import observe, vocabulary
from tests.conftest import payload

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CREATED = datetime(2013, 12, 3, 17, 15, 43, tzinfo=UTC)


def test_a_new_incident_is_observed_as_the_plan_leaves_it(rules: RuleSet) -> None:
    """Opening: the person's labels and the bot's (severity, phase, category, staffing) at the delivery's time."""
    body = payload("issue.open.incident-label")
    event = parse_event(body, delivery_id="d1")
    state = state_from_event(event)
    plan = plan_event(event, state, rules, NOW)
    obs = observe(event, state, plan, vocabulary(rules, "incident-bot"), now=NOW, payload=body)
    assert obs is not None
    assert (obs.severity, obs.phase, obs.state) == (3, "identification", "opened")
    assert obs.created_at == CREATED and obs.observed_at == CREATED  # the hook's own times, not the clock
    assert obs.author_id == 51 and obs.author is None  # the documented example's actor is not its author
    kinds = [(e.kind, e.value_to, e.by_bot) for e in obs.events]
    assert (EventKind.INCIDENT, "added", False) in kinds
    assert (EventKind.SEVERITY, "3", True) in kinds and (EventKind.PHASE, "identification", True) in kinds
    assert obs.roles and all(e.by_bot for e in obs.events if e.kind is EventKind.ROLE)


def test_without_a_payload_the_clock_dates_the_delivery(rules: RuleSet) -> None:
    """No hook body at hand: events are dated by the worker's clock."""
    event = parse_event(payload("issue.open.incident-label"))
    state = state_from_event(event)
    obs = observe(event, state, plan_event(event, state, rules, NOW), vocabulary(rules, "incident-bot"), now=NOW)
    assert obs is not None and {e.at for e in obs.events} == {NOW}


def test_a_comment_and_a_status_update(rules: RuleSet) -> None:
    """A note by a person is a comment; `@incident-bot update ...` is a status update; both dated by the note."""
    vocab = vocabulary(rules, "incident-bot")
    body = payload("note.create.docs")
    body["issue"]["labels"] = [{"title": "incident"}, {"title": "severity::2"}]
    for text, kind in (
        ("Looking into it", EventKind.COMMENT),
        ("@incident-bot update DB failed over", EventKind.STATUS_UPDATE),
    ):
        body["object_attributes"]["note"] = text
        event = parse_event(body, delivery_id="n1")
        state = IncidentState(
            issue=Issue(project_id=event.project_id, iid=event.iid, labels=event.labels),
            memory={"declared": True, "severity": 2, "phase": "identification"},
        )
        obs = observe(event, state, plan_event(event, state, rules, NOW), vocab, now=NOW, payload=body)
        assert obs is not None
        person = [e for e in obs.events if not e.by_bot]
        assert [(e.kind, e.actor, e.at) for e in person] == [
            (kind, "root", datetime(2015, 5, 17, 17, 6, 40, tzinfo=UTC))
        ]


def test_a_delivery_about_something_else_is_not_observed(rules: RuleSet) -> None:
    """Not an incident (and the incident label not just removed): nothing for the index."""
    body = payload("issue.open.docs")
    event = parse_event(body)
    state = state_from_event(event)
    assert observe(event, state, plan_event(event, state, rules, NOW), vocabulary(rules, "b"), now=NOW) is None


def test_a_damaged_memory_does_not_stop_the_index(rules: RuleSet) -> None:
    """A memory record whose `staffed` is not an object (edited by hand) is read as no one staffed."""
    event = parse_event(payload("issue.update.severity"))
    state = IncidentState(
        issue=Issue(project_id=event.project_id, iid=event.iid, labels=event.labels),
        memory={"declared": True, "staffed": 3},
    )
    obs = observe(event, state, Plan(), vocabulary(rules, "incident-bot"), now=NOW)
    assert obs is not None and obs.roles == {}
