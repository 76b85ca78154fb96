"""Similar past incidents from a seeded index: relevant ones first, confidential ones never shown in an open issue."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service import logs
from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.parts import OpenFollowUpsPart, SimilarPart, SuspectsPart
from service.plan import Plan, PostNote
from service.rules import RuleSet
from service.store import Store
from service.store.similar import similar
from service.worker import process_delivery
from service.worker.enrich import ENRICHERS, Enrichment
from service.worker.executor import Applied, comment, note_body
from service.worker.index import DeliveryIndex
from service.worker.similar import NONE_FOUND
from tests.conftest import body, payload
from tests.web.board.seed import incident, record

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROJECT = "acme/ops"


def seed(store: Store) -> None:
    """Past incidents: two alike (security, shared words), one other category, one confidential, one unrelated."""
    record(
        store,
        incident(
            101,
            "Leaked deploy token in CI job logs",
            now=NOW,
            started_minutes_ago=60 * 24 * 30,
            resolved_minutes_ago=60 * 24 * 29,
            category="security",
            severity=2,
        ),
        incident(102, "Token rotation script leaked nothing", now=NOW, started_minutes_ago=900, category="security"),
        incident(103, "CI job logs missing for runners", now=NOW, started_minutes_ago=800, category="availability"),
        incident(
            104,
            "Leaked signing token in CI logs (pangolin)",
            now=NOW,
            started_minutes_ago=700,
            category="security",
            confidential=True,
        ),
        incident(105, "Checkout latency in EU", now=NOW, started_minutes_ago=600, category="performance"),
    )


def test_relevant_incidents_first_and_confidential_kept_out(store: Store) -> None:
    """Same category and more words in common rank first; another category and a confidential one never appear."""
    seed(store)
    found = similar(
        store,
        project_id=42,
        iid=200,
        text="Leaked token found in CI job logs",
        category="security",
        areas=frozenset(),
        confidential=False,
    )
    assert [s.row.iid for s in found] == [101, 102]
    assert found[0].shared == ("leaked", "logs", "token")
    assert found[0].same == ("category security",)


def test_a_confidential_incident_sees_confidential_ones_of_its_project(store: Store) -> None:
    """A confidential incident may be shown confidential incidents of the same project, never of another."""
    seed(store)
    args: dict[str, Any] = {"iid": 200, "text": "Leaked token in CI logs", "category": "security"}
    same_project = similar(store, project_id=42, areas=frozenset(), confidential=True, **args)
    assert 104 in [s.row.iid for s in same_project]
    other_project = similar(store, project_id=43, areas=frozenset(), confidential=True, **args)
    assert 104 not in [s.row.iid for s in other_project]


class FakeIndex(DeliveryIndex):
    """The worker's DeliveryIndex as `with_similar` uses it: a store for these rules."""

    def __init__(self, opened: Store) -> None:
        super().__init__(lambda: opened)
        self.opened = opened

    def store(self, rules: RuleSet, bot_username: str, now: float | None = None) -> Store:
        return self.opened


@dataclass
class FakeDelivery:
    """The parts of a Delivery that `with_similar` reads."""

    event: Any
    rules: RuleSet
    bot_username: str = "incident-bot"
    log: Any = field(default_factory=lambda: logs.bind(logging.getLogger("test"), delivery="d"))
    clock: Any = lambda: NOW


def with_similar(plan: Plan, delivery: Any, state: IncidentState, index: Any) -> Plan:
    """The similar-incidents enricher on the plan, as the executor runs it once the issue is written."""
    declaration = (SimilarPart, SuspectsPart, OpenFollowUpsPart)  # a declaration's sections
    only = tuple(e for e in ENRICHERS if e.kind in declaration)
    return Enrichment(delivery, state, index, enrichers=only).after_write(plan, Applied())


def planned(rules: RuleSet, title: str, note: str | None = None, memory: dict[str, Any] | None = None) -> Any:
    """A plan for a new incident titled `title` (or for a comment `note` on it), with its delivery and state."""
    data = payload("note.create.incident" if note else "issue.open.incident")
    target = data["issue"] if note else data["object_attributes"]
    target.update(title=title, description="", confidential=False)
    data["project"].update(id=42, path_with_namespace=PROJECT)  # the seeded incidents' project
    if note:
        data["object_attributes"]["note"] = note
    event = parse_event(data, delivery_id="d")
    issue = Issue(project_id=event.project_id, iid=event.iid, title=title, description="", labels=event.labels)
    state = IncidentState(issue=issue, memory=memory or {})
    plan = plan_event(event, state, rules, NOW, access=40)
    return plan, FakeDelivery(event, rules), state


def test_declaration_lists_similar_incidents_as_links(store: Store, rules: RuleSet) -> None:
    """A new security incident's comment links the past ones like it, titles made inert, the confidential one absent."""
    seed(store)
    plan, delivery, state = planned(rules, "Leaked token found in CI job logs")
    body = comment(with_similar(plan, delivery, state, FakeIndex(store)))
    assert "**Similar past incidents**" in body
    assert f"[{PROJECT}#101](https://gitlab.example.com/{PROJECT}/-/issues/101) Leaked deploy token" in body
    assert "#104" not in body and "pangolin" not in body and "#103" not in body


def test_declaration_without_similar_incidents_adds_nothing(store: Store, rules: RuleSet) -> None:
    """With nothing alike in the index, the declaration comment is unchanged: its section shows nothing."""
    plan, delivery, state = planned(rules, "Leaked token found in CI job logs")
    quiet = ("recent-changes", "similar-incidents", "open-corrective-actions")  # sections that show nothing here
    rest = dataclasses.replace(plan, actions=tuple(a for a in plan.actions if a.rule not in quiet))
    assert comment(with_similar(plan, delivery, state, FakeIndex(store))) == note_body(rest)


def test_similar_command_answers_from_the_index(store: Store, rules: RuleSet) -> None:
    """`@incident-bot similar` replies with the list, or says there is none."""
    memory = {"declared": True, "severity": 3, "phase": "identification", "category": "security"}
    plan, delivery, state = planned(rules, "Leaked token in CI job logs", "@incident-bot similar", memory)
    assert any(isinstance(a, PostNote) and "{similar_incidents}" in a.preview for a in plan.actions)
    assert NONE_FOUND in comment(with_similar(plan, delivery, state, FakeIndex(store)))
    seed(store)
    body = comment(with_similar(plan, delivery, state, FakeIndex(store)))
    assert f"{PROJECT}#101" in body and "{similar_incidents}" not in body


def test_a_declaration_writes_the_issue_before_it_reads_past_incidents(
    fake, runtime, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels and assignees reach GitLab before the index is read; the declaration comment still lists the past ones."""
    title = "Checkout returns 502 errors for card payments"
    seen = incident(101, title, now=NOW, started_minutes_ago=900, project_id=1)  # the delivery's project
    record(store, seen)
    index = DeliveryIndex(lambda: store)
    opened = index.store
    written_before_read: list[list[str]] = []

    def store_after_writes(rules: RuleSet, bot_username: str, now: float | None = None) -> Store | None:
        """The index as the job asks for it, noting what GitLab had been written by then."""
        written_before_read.append([f"{c.method} {c.path}" for c in fake.writes()])
        return opened(rules, bot_username, now)

    monkeypatch.setattr(index, "store", store_after_writes)
    runtime.index = index
    outcome = process_delivery(body("issue.open.incident"), {"delivery_id": "d1", "event_uuid": "u1"})
    assert outcome.startswith("applied")
    assert "PUT /projects/1/issues/23" in written_before_read[0]  # sent with the GraphQL severity
    comment = fake.bot_notes()[-1]["body"]
    assert "**Similar past incidents**" in comment and f"[{PROJECT}#101]" in comment
    assert comment.index("**Similar past incidents**") < comment.index("<!-- incident-bot:memory")


def test_an_incident_changed_since_the_last_lookup_is_compared_by_its_new_words(store: Store) -> None:
    """Words are kept between lookups, yet an incident retitled since is compared by its new title."""
    seed(store)
    args: dict[str, Any] = {"project_id": 42, "iid": 200, "category": "security", "areas": frozenset()}
    assert similar(store, text="Pangolin burrow flooded", confidential=False, **args) == []
    later = NOW + timedelta(minutes=5)
    record(store, incident(102, "Pangolin burrow flooded", now=later, started_minutes_ago=905, category="security"))
    found = similar(store, text="Pangolin burrow flooded", confidential=False, **args)
    assert [(s.row.iid, s.shared) for s in found] == [(102, ("burrow", "flooded", "pangolin"))]


def test_a_past_incidents_areas_are_worked_out_once_per_rules(
    store: Store, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declarations that compare by area work out each past incident's areas once, again only for reloaded rules."""
    record(
        store,
        *(incident(300 + n, f"Database replica {n} lagging", now=NOW, started_minutes_ago=900 - n) for n in range(5)),
    )
    asked: list[str] = []
    areas_for = RuleSet.areas_for

    def counted(self: RuleSet, category: str | None, labels: Any, project_path: str, title: str) -> Any:
        asked.append(title)
        return areas_for(self, category, labels, project_path, title)

    monkeypatch.setattr(RuleSet, "areas_for", counted)
    for reloaded in (rules, rules, dataclasses.replace(rules)):
        plan, delivery, state = planned(reloaded, "Database replica lagging behind primary")
        assert "#304" in comment(with_similar(plan, delivery, state, FakeIndex(store)))
    past = [
        title
        for title in asked
        if title.startswith("Database replica ") and title != "Database replica lagging behind primary"
    ]
    assert sorted(past) == sorted([f"Database replica {n} lagging" for n in range(5)] * 2)
