"""The drill scorecard's figures and rendering (pure): hand-built histories, hostile names."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.events import parse_event
from service.handlers.draft import Draft
from service.handlers.scorecard import SCORECARD_RULE, scorecard
from service.incident import state_from_event
from service.reports.scorecard import render_scorecard, score
from service.rules import RuleSet
from service.store import EventKind, TimelineEvent
from service.store.model import Progress
from service.store.timeline import Milestones
from tests.conftest import NOW, payload

T0 = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
PHASES = ["identification", "mitigation", "remediation", "post-incident"]


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_drill_that_skipped_ahead_and_never_updated() -> None:
    """Straight to remediation at 12 min counts for mitigation too; severity 2 never set; one 50-min gap, missed."""
    events = [
        TimelineEvent(t(0), EventKind.PHASE, "", "", "identification", "incident-bot", None, True),
        TimelineEvent(t(3), EventKind.SEVERITY, "", "", "3", "incident-bot", None, True),
        TimelineEvent(t(12), EventKind.PHASE, "", "identification", "remediation", "bob", 8),
        TimelineEvent(t(50), EventKind.STATE, "", "", "closed", "bob", 8),
    ]
    milestones = Milestones(t(0), None, t(12), t(50), 3, None)
    card = score(
        events,
        milestones,
        end=t(50),
        scenario="third-party-degraded",
        expected_severity=2,
        expected_phases=[("mitigation", 15), ("post-incident", 40)],
        phase_order=PHASES,
        targets={2: {"acknowledge_minutes": 30, "mitigate_minutes": 480}},
        cadences={2: 45, 3: None},
        checklists=[],
    )
    text = render_scorecard(card, {2: "high"})
    assert "2026-11-27 23:30 – 2026-11-28 00:20 UTC" in text  # a drill across midnight shows both dates
    assert "| Time to acknowledge | not reached | 30 min | **not reached** |" in text
    assert "| Time to set severity 2 | not reached | - | **not reached** |" in text
    assert "| Time to reach mitigation | 12 min | 15 min | met |" in text
    assert "| Time to reach post-incident | not reached | 40 min | **not reached** |" in text
    assert "| Time to mitigate | 12 min | 8 h 00 min | met |" in text
    assert "| Time to resolve | 50 min | - | reached |" in text
    assert "| Checklist items ticked | no checklist read | - | |" in text
    cadence = "| Status updates | 0 updates, longest gap 50 min | every 45 min | 0 of 1 gaps on cadence, **1 missed** |"
    assert cadence in text
    assert "Roles held: nobody was staffed." in text


hostile = st.text(alphabet=st.sampled_from(list("ab|\n\r<>@/[]()!`*_#&;:\\ \u2028")), min_size=1, max_size=20)


@settings(max_examples=150, deadline=None)
@given(hostile, hostile, hostile, hostile, hostile)
def test_hostile_names_keep_the_table_and_ping_nobody(
    scenario: str, phase: str, title: str, user: str, name: str
) -> None:  # noqa: E501
    """Whatever the scenario, phase, role title, username or severity name: four cells a row, no mention, no HTML."""
    events = [TimelineEvent(t(5), EventKind.PHASE, "", "", phase, user, 1)]
    card = score(
        events,
        Milestones(t(0), t(1), None, None, 1, None),
        end=t(30),
        scenario=scenario,
        expected_severity=1,
        expected_phases=[(phase, 10)],
        phase_order=PHASES,
        targets={1: {"acknowledge_minutes": 15}},
        cadences={1: 30},
        checklists=[Progress(phase, 1, 2)],
        roles=[("incident-manager", user), ("incident-manager", "im-bob")],
        role_titles={"incident-manager": title},
    )
    text = render_scorecard(card, {1: name})
    for line in text.splitlines():
        if line.startswith("| "):
            assert line.endswith(" |") and len(re.findall(r"(?<!\\)\|", line)) == 5, line
    assert not re.search(r"@[A-Za-z0-9_]", text) and "<" not in text


def test_the_step_plans_a_card_when_a_drill_closes_by_a_person_or_by_the_plan(rules: RuleSet) -> None:
    """A person's close or a plan closing the issue: one card section; a drill left open or a real incident: none."""

    def draft(action: str, labels: list[str]) -> Draft:
        data = payload("issue.update.title")
        data["object_attributes"]["action"] = action
        data["labels"] = [{"title": x} for x in labels]
        event = parse_event(json.loads(json.dumps(data)))  # a copy, as the job parses it
        return Draft(event, state_from_event(event), rules, NOW)

    def cards(d: Draft) -> int:
        scorecard(d)
        return sum(1 for s in d.sections if s.rule == SCORECARD_RULE)

    assert cards(draft("close", ["incident", "drill"])) == 1
    assert cards(draft("update", ["incident", "drill"])) == 0
    closing = draft("update", ["incident", "drill"])
    closing.close("a-rule-that-closes")
    assert cards(closing) == 1
    assert cards(draft("close", ["incident"])) == 0


def test_a_severity_the_rules_set_by_default_is_not_credited_as_a_choice() -> None:
    """The expected severity 3 set by the bot's default at the declaration: 0 min, said to be the default."""
    events = [TimelineEvent(t(0), EventKind.SEVERITY, "", "", "3", "incident-bot", None, True)]
    card = score(
        events,
        Milestones(t(0), None, None, None, 3, None),
        end=t(20),
        scenario="s",
        expected_severity=3,
        expected_phases=[],
        phase_order=PHASES,
        targets={},
        cadences={},
        checklists=[],
    )
    assert "| Time to set severity 3 | 0 min | - | the rules' default, set by the bot |" in render_scorecard(card, {})
