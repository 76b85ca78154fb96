"""Planning an alert notification: (group, its record, rules, clock) -> typed actions and the record after. Pure.

One incident per alert group while it is open. A repeated notification (repeat_interval, a retry, the second
Alertmanager of an HA pair) changes no alert's state and plans nothing. A new alert or a changed status edits
the alert table in place; a more severe firing alert escalates; every alert resolved comments and applies the
route's `on_resolved`; firing again within `reopen_within_minutes` returns to the same incident (reopened if a
person closed it), later a new incident names the previous one. New groups past `max_new_incidents_per_minute`
join the one storm incident instead of opening their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..alerts.actions import (
    CommentOnAlertIncident,
    EscalateAlertIncident,
    JoinAlertStorm,
    OpenAlertIncident,
    ReopenAlertIncident,
    ResolveAlertIncident,
    UpdateAlertTable,
)
from ..alerts.grouping import GroupRecord, initial, merged
from ..alerts.payload import FIRING, AlertGroup
from ..alerts.render import description, fired_again_comment, marker, resolved_comment, table, title
from ..alerts.routing import Routed, labels_for, route, severity
from ..plan import Action, Plan
from ..rules import RuleSet
from ..rules.alertmodel import OnResolved

MITIGATED_PHASE = "remediation"  # the index counts an incident mitigated when it enters remediation (store/timeline)


@dataclass(frozen=True)
class AlertPlan:
    """The plan for one alert notification and the group's record once it is applied."""

    plan: Plan
    after: GroupRecord
    routed: Routed


def expired(record: GroupRecord, now: float, rules: RuleSet) -> bool:
    """The group resolved longer ago than `reopen_within_minutes`: a new firing opens a new incident."""
    window = rules.alerts.reopen_within_minutes * 60
    return record.resolved_at is not None and now - record.resolved_at > window


def needs_incident(group: AlertGroup, record: GroupRecord | None, now: float, rules: RuleSet) -> bool:
    """Whether this notification opens a new incident (the worker then counts the group among the minute's new)."""
    if not group.firing and not (record and record.firing):
        return False
    firing = any(a["status"] == FIRING for a in merged(record, group).values())  # a stale firing opens nothing
    if record is None or (record.iid is None and not record.storm):
        return firing
    return expired(record, now, rules) and firing


def plan_alert(group: AlertGroup, record: GroupRecord | None, rules: RuleSet, now: datetime, **state: Any) -> AlertPlan:
    """The actions for one notification. `state`: `incident_open` (the incident as GitLab has it), `opening`."""
    stamp = now.timestamp()
    current = record or initial(group)
    alerts = merged(record, group)
    routed = route(group, alerts.values(), rules)
    if needs_incident(group, record, stamp, rules):
        return _open(group, current, alerts, routed, rules, str(state.get("opening", "")))
    after = replace(current, alerts=alerts, labels=dict(group.group_labels or group.common_labels))
    if alerts == current.alerts or (current.iid is None and not current.storm):
        return AlertPlan(Plan(), after, routed)  # a repeat, or resolved alerts of a group without an incident
    firing = [a for a in alerts.values() if a["status"] == FIRING]
    resolved_at = None if firing else (current.resolved_at or stamp)
    after = replace(after, resolved_at=resolved_at)
    if current.storm:
        return AlertPlan(Plan((_storm(group, current, firing, routed, rules),)), after, routed)
    rule = f"alerts.{routed.route}"
    actions: list[Action] = []
    if firing and current.resolved_at is not None:
        reopen = not state.get("incident_open", True)
        actions += [ReopenAlertIncident(rule)] if reopen else []
        said = fired_again_comment(firing, current.resolved_at, reopen)
        actions.append(CommentOnAlertIncident(rule, said, f"fired-again-{current.resolved_at:.0f}"))
    actions.append(UpdateAlertTable(rule, table(alerts)))
    level = severity(alerts.values(), rules)
    if firing and current.severity is not None and level < current.severity and level in rules.severities:
        others = tuple(s.label for n, s in rules.severities.items() if n != level)
        actions.append(EscalateAlertIncident(rule, rules.severities[level].label, others))
        after = replace(after, severity=level)
    if not firing and current.resolved_at is None:
        actions += _resolved(alerts, routed, rules, rule, stamp)
    return AlertPlan(Plan(tuple(actions)), after, routed)


def _resolved(alerts: dict[str, Any], routed: Routed, rules: RuleSet, rule: str, now: float) -> list[Action]:
    """Every alert resolved: say when each did, then the route's `on_resolved`."""
    behaviour = routed.on_resolved
    phase = next((p for p in rules.phases if p.name == MITIGATED_PHASE), None)
    if behaviour is OnResolved.MITIGATE and phase is None:
        behaviour = OnResolved.COMMENT  # no remediation phase in these rules: nothing to move to
    last = max((a.get("ends_at") or 0 for a in alerts.values()), default=0) or now
    actions: list[Action] = [
        CommentOnAlertIncident(rule, resolved_comment(alerts, behaviour.value), f"resolved-{last:.0f}")
    ]
    if behaviour is OnResolved.MITIGATE and phase is not None:
        others = tuple(p.label for p in rules.phases if p.label != phase.label)
        actions.append(ResolveAlertIncident(rule, behaviour.value, phase.label, others))
    elif behaviour is OnResolved.CLOSE:
        actions.append(ResolveAlertIncident(rule, behaviour.value))
    return actions


def _open(
    group: AlertGroup, record: GroupRecord, alerts: dict[str, Any], routed: Routed, rules: RuleSet, opening: str
) -> AlertPlan:
    """A new incident for the group, or a line in the storm incident past the minute's limit."""
    level = severity(alerts.values(), rules)
    after = replace(record, alerts=alerts, title=title(group), severity=level, resolved_at=None, slot=None)
    after = replace(after, labels=dict(group.group_labels or group.common_labels))
    firing = [a for a in alerts.values() if a["status"] == FIRING]
    if (record.slot or 1) > rules.alerts.max_new_incidents_per_minute:
        storm = _storm(group, record, firing, routed, rules)
        return AlertPlan(Plan((storm,)), replace(after, storm=True, iid=None, project_id=None, url=""), routed)
    opening = record.opening or opening or group.group_id
    previous = record.url or (f"#{record.iid}" if record.iid else "")
    action = OpenAlertIncident(
        f"alerts.{routed.route}",
        routed.project,
        title(group),
        description(group, alerts, opening, previous),
        routed.labels,
        routed.confidential,
        marker(group.group_id, opening),
        previous,
    )
    return AlertPlan(Plan((action,)), replace(after, opening=opening, storm=False, area=routed.area), routed)


def _storm(group: AlertGroup, record: GroupRecord, firing: list[Any], routed: Routed, rules: RuleSet) -> JoinAlertStorm:
    """The group's line in the open storm incident of the default project, or, for a confidential route, in the
    confidential storm incident of the route's project (never listed where its incident would not be seen)."""
    config = rules.alerts
    default = config.default
    assert default is not None  # routed: alerts.yml is there
    since = min((a.get("starts_at") or 0 for a in firing), default=None) or None
    project, labels = default.project, labels_for(default, severity(firing, rules), rules)
    if routed.confidential:
        project, labels = routed.project, routed.labels
    return JoinAlertStorm(
        "alerts.storm",
        project,
        group.group_id,
        record.title or title(group),
        "firing" if firing else "resolved",
        since,
        labels,
        config.max_new_incidents_per_minute,
        routed.confidential,
    )
