"""The `silence` and `unsilence` commands and an alert incident's close, planned (pure): typed actions naming the
group from the incident's marker, durations through service/bounds.py, refusals for people below Developer."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from service.alerts.actions import ExpireAlertSilences, SilenceAlertGroup, UnsilenceAlertGroup
from service.alerts.render import marker
from service.bounds import MAX_DURATION
from service.handlers.silences import NOT_AN_ALERT
from service.plan import Plan, PostNote
from service.rules import RuleSet
from tests.planning import plan_for

GROUP = "0123456789abcdef0123456789abcdef"
ALERT_INCIDENT = f"**Opened from Alertmanager**\n\n{marker(GROUP, 'd-1')}"


def said(plan: Plan) -> str:
    return "\n\n".join(note.preview for note in plan.of(PostNote))


def test_silence_plans_the_group_for_the_duration_by_the_person(rules: RuleSet) -> None:
    """`silence 2h` on an alert incident: the group from its marker, 7200 seconds, alice, the incident's URL."""
    plan = plan_for(
        rules, "note.create.incident", note="@incident-bot silence 2h", description=ALERT_INCIDENT, access=30
    )
    [action] = plan.of(SilenceAlertGroup)
    assert (action.group_id, action.seconds, action.created_by) == (GROUP, 7200, "alice")
    assert action.incident_url.endswith("/issues/23")


def test_unsilence_plans_the_expiry(rules: RuleSet) -> None:
    """`unsilence` names the group; the worker expires what the bot made for it."""
    plan = plan_for(
        rules, "note.create.incident", note="@incident-bot unsilence", description=ALERT_INCIDENT, access=30
    )
    assert [a.group_id for a in plan.of(UnsilenceAlertGroup)] == [GROUP]


def test_no_silence_on_an_incident_not_opened_from_an_alert(rules: RuleSet) -> None:
    """A declared incident (no alert-group marker) has nothing to silence: the reply says so."""
    plan = plan_for(rules, "note.create.incident", note="@incident-bot silence 2h", description="db down", access=30)
    assert not plan.of(SilenceAlertGroup) and NOT_AN_ALERT in said(plan)


def test_a_reporter_cannot_silence(rules: RuleSet) -> None:
    """Below Developer: refused like every command."""
    plan = plan_for(
        rules, "note.create.incident", note="@incident-bot silence 2h", description=ALERT_INCIDENT, access=20
    )
    assert not plan.of(SilenceAlertGroup) and "only project members" in said(plan)


def test_closing_an_alert_incident_expires_its_silences(rules: RuleSet) -> None:
    """The close of an alert incident plans the expiry; the close of any other incident does not."""
    closing = plan_for(rules, "issue.close.incident", description=ALERT_INCIDENT)
    assert [a.group_id for a in closing.of(ExpireAlertSilences)] == [GROUP]
    assert not plan_for(rules, "issue.close.incident", description="db down").of(ExpireAlertSilences)


@settings(max_examples=150, deadline=None)
@given(rest=st.text(max_size=80) | st.from_regex(r"\s*[0-9]{1,14}\s*[smhdwy]?\s*", fullmatch=True))
def test_any_duration_plans_a_bounded_silence_or_an_inert_reply(rules: RuleSet, rest: str) -> None:
    """Whatever follows `silence`: a silence of 1 minute to a century, or a usage reply with nothing active in it."""
    plan = plan_for(
        rules, "note.create.incident", note=f"@incident-bot silence {rest}", description=ALERT_INCIDENT, access=30
    )
    for action in plan.of(SilenceAlertGroup):
        assert 60 <= action.seconds <= MAX_DURATION.total_seconds()
    if not plan.of(SilenceAlertGroup):
        text = "\n\n".join(note.preview for note in plan.of(PostNote) if note.rule.startswith("command:"))
        assert "silence <duration>" in text or "don't know" in text, text
        for line in text.splitlines():
            assert not line.lstrip().startswith("/"), line
        prose = re.sub(r"`[^`\n]*`", "", text)  # code spans show text, never run it
        assert "@all" not in prose and "<" not in prose, text
