"""The plan's deferred parts and their enrichers: one order, one failure policy, nothing rendered unfilled."""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service import logs, parts
from service.cli import main
from service.events import Event, parse_event
from service.handlers.draft import Draft
from service.handlers.planner import finish, plan_event
from service.incident import IncidentState, Issue
from service.parts import (
    CauseNote,
    DrillLink,
    OpenFollowUpsPart,
    Part,
    ReviewLink,
    ScorecardPart,
    SimilarPart,
    SuspectsPart,
    TimelinePart,
    TrainingNote,
    Unfilled,
)
from service.plan import AddLabels, After, OpenReview, Plan, PostNote, Remember, RemoveLabels
from service.rules import RuleSet
from service.worker import scorecard, similar, timeline
from service.worker.enrich import ENRICHERS, Enrichment, Stage
from service.worker.executor import Applied, comment, label_change, new_memory, note_body
from tests.conftest import payload

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class FakeDelivery:
    """The parts of a Delivery the enrichers read."""

    event: Event
    rules: RuleSet
    bot_username: str = "incident-bot"
    log: Any = field(default_factory=lambda: logs.bind(logging.getLogger("incident_bot.test"), delivery="d"))
    clock: Any = lambda: NOW


class Broken:
    """A store whose every read fails, as an index whose database went away."""

    engine = None

    def __getattr__(self, name: str) -> Any:
        raise OSError("disk gone")


@dataclass
class DownIndex:
    """A DeliveryIndex that opens (a Broken store); counts how often it is asked."""

    asked: int = 0

    def store(self, rules: RuleSet, bot_username: str) -> Any:
        self.asked += 1
        return Broken()


def incident(rules: RuleSet, *labels: str) -> tuple[Event, IncidentState]:
    event = parse_event(payload("issue.open.incident"), delivery_id="d", incident_label=rules.incident_label)
    issue = Issue(project_id=event.project_id, iid=event.iid, title="Checkout down", labels=event.labels | set(labels))
    return event, IncidentState(issue=issue, memory={})


def every_part(state: IncidentState) -> Plan:
    """One comment with a part of each kind, and a review whose description ends with the timeline."""
    notes = (
        PostNote("command:timeline", ("**Timeline**:\n\n", TimelinePart())),
        PostNote("drill-scorecard", ("## Drill scorecard\n\n", ScorecardPart())),
        PostNote("review", ("Post-incident review opened: ", ReviewLink())),
        PostNote("command:drill", ("Drill: ", DrillLink(), "\n\nIt runs.")),
        PostNote("command:similar", ("**Similar past incidents**:\n\n", SimilarPart())),
        PostNote("similar-incidents", (SimilarPart(reply=False),)),
        PostNote("training-note", (TrainingNote("eoc", "carol", 90),)),
    )
    review = OpenReview("review", "Review", ("Notes.", TimelinePart(review=True)), ())
    return Plan((review, *notes), after=After.unchanged(state))


def test_a_comment_with_an_unfilled_part_cannot_be_rendered(rules: RuleSet) -> None:
    """The executor's comment and a review's description refuse a part still waiting; the preview shows it."""
    _, state = incident(rules)
    plan = every_part(state)
    with pytest.raises(Unfilled, match="TimelinePart"):
        comment(plan)
    with pytest.raises(Unfilled):
        _ = plan.of(OpenReview)[0].description
    assert "{incident_timeline}" in note_body(plan) and "{review_url}" in note_body(plan)
    assert "body='Post-incident review opened: {review_url}'" in "\n".join(plan.describe())


def test_the_enrichers_run_in_one_order_and_fill_every_kind_of_part() -> None:
    """Index reads that the text of the first write needs go before it; links and the rest after it."""
    before, after = Stage.BEFORE_WRITE, Stage.AFTER_WRITE
    assert [(e.kind, e.stage) for e in ENRICHERS] == [
        (TimelinePart, before),
        (ScorecardPart, before),
        (ReviewLink, after),
        (DrillLink, after),
        (SimilarPart, after),
        (SuspectsPart, after),
        (CauseNote, after),
        (OpenFollowUpsPart, after),
        (TrainingNote, after),
    ]
    kinds = {c for _, c in inspect.getmembers(parts, inspect.isclass) if issubclass(c, Part) and c is not Part}
    assert sorted(e.kind.__name__ for e in ENRICHERS) == sorted(k.__name__ for k in kinds)


def test_links_are_filled_after_the_write_from_what_the_executor_opened(rules: RuleSet) -> None:
    """The review and drill links name the issues opened, or why GitLab refused; then the comment renders."""
    event, state = incident(rules)
    enrichment = Enrichment(cast(Any, FakeDelivery(event, rules)), state)
    plan = enrichment.before_write(every_part(state))
    assert plan.unfilled(TimelinePart) == [] and plan.unfilled(ReviewLink) == [ReviewLink()]
    written = Applied(review=(7, "http://gitlab.test/g/p/-/issues/7", True), drill_error="403 Forbidden")
    text = comment(enrichment.after_write(plan, written))
    assert "Post-incident review opened: http://gitlab.test/g/p/-/issues/7" in text
    assert "Drill: not possible (403 Forbidden)\n\nIt runs." in text


def test_without_an_index_each_part_says_so_once_and_quiet_parts_say_nothing(rules: RuleSet) -> None:
    """No index configured: the replies say the worker keeps none; a review, a declaration, a staffing: nothing."""
    event, state = incident(rules)
    enrichment = Enrichment(cast(Any, FakeDelivery(event, rules)), state, None)
    plan = enrichment.after_write(enrichment.before_write(every_part(state)), Applied(review=(7, "", False)))
    text = comment(plan)
    assert f"**Timeline**:\n\n{timeline.NONE}" in text and f"## Drill scorecard\n\n{scorecard.NONE}" in text
    assert f"**Similar past incidents**:\n\n{similar.NONE}" in text and "Post-incident review opened: #7" in text
    assert "*Training*" not in text and not text.endswith("\n")
    assert plan.of(OpenReview)[0].description == "Notes."


def test_an_index_that_fails_is_logged_once_and_every_part_shows_the_policys_text(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    """The first failed read is one warning; the rest of the delivery's parts show `unavailable` without asking."""
    event, state = incident(rules)
    index = DownIndex()
    enrichment = Enrichment(cast(Any, FakeDelivery(event, rules)), state, cast(Any, index))
    with caplog.at_level(logging.WARNING, logger="incident_bot"):
        plan = enrichment.before_write(every_part(state))
        plan = enrichment.after_write(plan, Applied(review=(7, "u", False)))
    text = comment(plan)
    assert f"**Timeline**:\n\n{timeline.UNAVAILABLE}" in text
    assert f"## Drill scorecard\n\n{scorecard.UNAVAILABLE}" in text
    assert f"**Similar past incidents**:\n\n{similar.UNAVAILABLE}" in text
    assert "*Training*" not in text and plan.of(OpenReview)[0].description == "Notes."
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].startswith("incident index not read for the timeline: OSError: disk gone")
    assert index.asked == 1


def test_a_declaration_plans_its_past_incidents_and_training_notes_as_parts(rules: RuleSet) -> None:
    """The planner puts what the index must say in the plan: nothing is added to it after planning."""
    event, state = incident(rules, "severity::1")  # severity 1 staffs the Incident Manager, who must practise
    plan = plan_event(event, state, rules, NOW, access=40)
    assert SimilarPart(reply=False) in plan.parts()
    assert "[similar past incidents, if the index has any: filled by the worker]" in note_body(plan)
    ((note, part),) = [(n, p) for n in plan.of(PostNote) for p in n.parts if isinstance(p, TrainingNote)]
    assert (part.role, part.days) == ("incident-manager", 90)
    assert "**Incident Manager (IM)**" in note.preview and f"@{part.user}" in note.preview


def test_simulate_shows_a_deferred_part_by_its_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simulate` and `--json` show the `timeline` reply as planned, the part by its preview."""
    data = payload("note.create.incident")
    data["object_attributes"]["note"] = "@incident-bot timeline"
    delivery, state = tmp_path / "note.json", tmp_path / "state.json"
    delivery.write_text(json.dumps(data))
    state.write_text(json.dumps({"memory": {"declared": True, "severity": 3, "phase": "identification"}}))
    assert main(["simulate", str(delivery), "--state", str(state)]) == 0
    assert "**Timeline** of this incident:\n\n{incident_timeline}" in capsys.readouterr().out
    assert main(["simulate", str(delivery), "--state", str(state), "--json"]) == 0
    actions = json.loads(capsys.readouterr().out)
    reply = {
        "action": "PostNote",
        "rule": "command:timeline",
        "body": "**Timeline** of this incident:\n\n{incident_timeline}",
    }
    assert reply in actions


LABELS = ["a", "b", "c", "severity::1", "severity::2"]
ops = st.lists(st.tuples(st.booleans(), st.sets(st.sampled_from(LABELS), max_size=3)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(start=st.sets(st.sampled_from(LABELS)), steps=ops, memory=st.dictionaries(st.sampled_from("xyz"), st.integers()))
def test_plan_after_is_what_the_actions_leave(
    rules: RuleSet, start: set[str], steps: list[tuple[bool, set[str]]], memory: dict[str, int]
) -> None:
    """`Plan.after` (read off the Draft once) equals replaying the plan's label and memory actions on the state."""
    event, state = incident(rules)
    state = IncidentState(issue=Issue(project_id=1, iid=23, labels=frozenset(start)), memory=dict(memory))
    draft = Draft(event, state, rules, NOW)
    for adding, labels in steps:
        draft.add_labels(labels, "r") if adding else draft.remove_labels(labels, "r")
    draft.remember("x", 7)
    plan = finish(draft)
    replayed = set(start)
    for action in plan.actions:
        if isinstance(action, AddLabels):
            replayed |= set(action.labels)
        elif isinstance(action, RemoveLabels):
            replayed -= set(action.labels)
    after = plan.settled(state)
    assert after.labels == frozenset(replayed)
    change = label_change(plan, state.labels)
    assert set(change.add) == replayed - start and set(change.remove) == start - replayed
    remembered = {**memory, **{a.key: a.value for a in plan.of(Remember)}}
    assert {k: v for k, v in new_memory(plan, state, event).items() if k not in ("deliveries", "notes")} == remembered
