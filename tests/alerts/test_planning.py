"""Planning an alert notification (pure): one incident per group, repeats change nothing, storms are gathered."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from service.alerts.actions import (
    CommentOnAlertIncident,
    EscalateAlertIncident,
    JoinAlertStorm,
    OpenAlertIncident,
    ReopenAlertIncident,
    ResolveAlertIncident,
    UpdateAlertTable,
)
from service.alerts.grouping import GroupRecord
from service.alerts.sources import parse
from service.handlers.alerts import AlertPlan, plan_alert
from service.rules import RuleSet
from service.rules.alertmodel import OnResolved
from tests.alerts.samples import REFIRED, alertmanager, am_alert, dumps

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _plan(rules: RuleSet, payload: dict[str, Any], record: GroupRecord | None = None, **state: Any) -> AlertPlan:
    return plan_alert(parse("alertmanager", dumps(payload)), record, rules, state.pop("now", NOW), **state)


def _opened(planned: AlertPlan) -> GroupRecord:
    """The record as the executor leaves it once the incident is open."""
    return replace(planned.after, project_id=1, project_path="ops/production", iid=5, url="http://x/5", opening="")


def kinds(planned: AlertPlan) -> list[type]:
    return [type(a) for a in planned.plan.actions]


def test_a_new_group_opens_one_incident_in_the_routed_project(rules: RuleSet) -> None:
    """The first firing notification: the route's project, the most severe firing alert, the route's category."""
    payload = alertmanager(
        am_alert(severity="warning", service="checkout"),
        am_alert(instance="web-2", severity="critical", service="checkout"),
        am_alert(instance="web-3", severity="critical", status="resolved", service="checkout"),
        service="checkout",
    )
    planned = _plan(rules, payload, opening="d-1")
    [action] = planned.plan.actions
    assert isinstance(action, OpenAlertIncident)
    assert action.project == "shop/checkout" and action.rule == "alerts.routes[0]"
    assert action.labels == ("incident", "severity::1", "incident-category::availability")
    assert "| HighErrorRate | firing |" in action.description and action.opening in action.description
    assert planned.after.severity == 1 and planned.after.opening == "d-1"


def test_a_repeat_changes_nothing(rules: RuleSet) -> None:
    """repeat_interval, a retry or the HA pair's second Alertmanager: the same states plan nothing."""
    record = _opened(_plan(rules, alertmanager(), opening="d-1"))
    again = _plan(rules, alertmanager(), record)
    assert again.plan.empty and again.after == record


def test_a_new_alert_edits_the_table_and_a_worse_one_escalates(rules: RuleSet) -> None:
    """A new alert in the group edits the table in place; a more severe firing alert escalates."""
    record = _opened(_plan(rules, alertmanager(), opening="d-1"))
    planned = _plan(rules, alertmanager(am_alert(), am_alert(instance="web-2", severity="high")), record)
    assert kinds(planned) == [UpdateAlertTable, EscalateAlertIncident]
    escalate = planned.plan.actions[1]
    assert isinstance(escalate, EscalateAlertIncident) and escalate.add == "severity::2"
    assert "severity::3" in escalate.remove and planned.after.severity == 2


@pytest.mark.parametrize("behaviour", list(OnResolved))
def test_all_resolved_comments_then_applies_on_resolved(rules: RuleSet, behaviour: OnResolved) -> None:
    """Every alert resolved: a comment naming when each resolved, then comment / mitigate / close."""
    config = replace(rules.alerts, on_resolved=behaviour)
    rules = replace(rules, alerts=config)
    record = _opened(_plan(rules, alertmanager(), opening="d-1"))
    planned = _plan(rules, alertmanager(am_alert(status="resolved")), record)
    expected = [UpdateAlertTable, CommentOnAlertIncident]
    assert kinds(planned) == expected + ([] if behaviour is OnResolved.COMMENT else [ResolveAlertIncident])
    comment = planned.plan.actions[1]
    assert isinstance(comment, CommentOnAlertIncident) and "resolved 2026-11-27 10:05:00Z" in comment.body
    if behaviour is OnResolved.MITIGATE:
        assert planned.plan.actions[2] == ResolveAlertIncident(
            "alerts.default",
            "mitigate",
            "incident::remediation",
            cast(Any, planned.plan.actions[2]).remove,
        )
    assert planned.after.resolved_at == NOW.timestamp()
    assert _plan(rules, alertmanager(am_alert(status="resolved")), planned.after).plan.empty  # re-sent: nothing


def test_firing_again_within_the_window_returns_to_the_incident(rules: RuleSet) -> None:
    """Within reopen_within_minutes: the same incident, reopened when a person closed it, with a comment."""
    record = _opened(_plan(rules, alertmanager(), opening="d-1"))
    resolved = _plan(rules, alertmanager(am_alert(status="resolved")), record).after
    later = NOW + timedelta(minutes=30)
    refired = alertmanager(am_alert(starts_at=REFIRED))
    planned = _plan(rules, refired, resolved, now=later, incident_open=False)
    assert kinds(planned) == [ReopenAlertIncident, CommentOnAlertIncident, UpdateAlertTable]
    assert "Fired again" in cast(Any, planned.plan.actions[1]).body and planned.after.resolved_at is None
    assert kinds(_plan(rules, refired, resolved, now=later, incident_open=True))[0] is CommentOnAlertIncident


def test_firing_again_later_opens_a_new_incident_naming_the_previous(rules: RuleSet) -> None:
    """After reopen_within_minutes: a new incident, linked to the previous one."""
    record = _opened(_plan(rules, alertmanager(), opening="d-1"))
    resolved = _plan(rules, alertmanager(am_alert(status="resolved")), record).after
    refired = alertmanager(am_alert(starts_at=REFIRED))
    planned = _plan(rules, refired, resolved, now=NOW + timedelta(hours=3), opening="d-9")
    [action] = planned.plan.actions
    assert isinstance(action, OpenAlertIncident) and action.previous == "http://x/5"
    assert "fired before: http://x/5" in action.description


def test_groups_past_the_minutes_limit_join_the_storm(rules: RuleSet) -> None:
    """The 11th new group of a minute opens no issue of its own: it joins the storm incident."""
    record = GroupRecord(group_id=parse("alertmanager", dumps(alertmanager())).group_id, source="alertmanager", slot=11)
    planned = _plan(rules, alertmanager(), record)
    [action] = planned.plan.actions
    assert isinstance(action, JoinAlertStorm) and action.limit == 10 and action.project == "ops/production"
    assert planned.after.storm and planned.after.iid is None
    assert kinds(_plan(rules, alertmanager(am_alert(status="resolved")), planned.after)) == [JoinAlertStorm]


def test_alert_text_is_neutralised(rules: RuleSet) -> None:
    """Labels and annotations cannot mention, run quick actions or inject links in the description."""
    hostile = am_alert(name="/close @all [x](javascript:alert(1))", instance="<b>@here</b>")
    hostile["annotations"]["summary"] = "@all /label ~x"
    action = _plan(rules, alertmanager(hostile), opening="d").plan.actions[0]
    assert isinstance(action, OpenAlertIncident)
    assert "@all" not in action.description and "@here" not in action.description
    assert "\n/close" not in action.description and "<b>" not in action.description
    assert "@all" not in action.title


def test_alert_references_are_inert(rules: RuleSet) -> None:
    """A reference in an alert's labels or annotations names nothing in the incident's title or description (no
    "mentioned in" note on group/other#5 or a confidential shop/secret!9)."""
    hostile = am_alert(name="Broke group/other#5", instance="!7")
    hostile["annotations"].update(summary="see #12 and shop/secret!9", description="after &3 and $4")
    action = _plan(rules, alertmanager(hostile, group='{}:{alertname="Broke group/other#5"}'), opening="d")
    opened = action.plan.actions[0]
    assert isinstance(opened, OpenAlertIncident)
    shown = html.unescape(opened.description) + "\n" + opened.title
    assert "group/other#\u20605" in opened.title and "!\u20607" in opened.description  # shown, naming nothing
    assert not re.search(r"[#!&$][0-9]", shown), shown
