"""Every shipped rule, exercised through the pure planner: payload and state in, plan out."""

from __future__ import annotations

from typing import Any

import pytest

from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue, Note
from service.plan import Assign, Notify, OpenReview, Plan, ScheduleReminder, SetNativeSeverity, Unassign
from service.worker.executor import label_change, note_body
from tests.conftest import DECLARED, DECLARED_LABELS, NOW, payload
from tests.planning import plan_for

BASE = DECLARED_LABELS


def rules_of(plan: Plan) -> set[str]:
    return {a.rule for a in plan.actions}


def added(plan: Plan, labels: frozenset[str] = frozenset()) -> set[str]:
    return set(label_change(plan, labels).add)


# Story 1: incident opened.


def test_default_severity(rules) -> None:
    """default-severity: no severity label means severity 3."""
    plan = plan_for(rules, "issue.open.incident")
    assert "severity::3" in added(plan) and "default-severity" in rules_of(plan)


def test_existing_severity_is_kept(rules) -> None:
    """default-severity does not fire when a severity is already set."""
    plan = plan_for(rules, "issue.open.incident", labels=["severity::2"])
    assert not any(label.startswith("severity::") for label in added(plan, frozenset(["severity::2"])))


def test_starts_in_identification(rules) -> None:
    """start-in-identification: a new incident gets the first phase label."""
    plan = plan_for(rules, "issue.open.incident")
    assert "incident::identification" in added(plan) and "start-in-identification" in rules_of(plan)


def test_declaration_comment(rules) -> None:
    """declare: one comment explains severity levels, documentation, procedure, and says severity 3."""
    body = note_body(plan_for(rules, "issue.open.incident"))
    assert "Incident declared: severity 3 (medium)" in body
    assert "| `severity::1` critical |" in body
    assert "Where to document" in body and rules.settings.procedure_url in body
    assert "- [ ] Confirm the impact and scope" in body  # identification checklist as a task list


def test_engineer_on_call_is_staffed(rules) -> None:
    """staff-engineer-on-call: every incident gets the EOC on call now, assigned, with the role's duties."""
    plan = plan_for(rules, "issue.open.incident")
    assert [a.usernames for a in plan.of(Assign)] == [("eoc-carol",)]  # the 2026-11-27 turn
    assert "**Engineer On Call (EOC)**: @eoc-carol" in note_body(plan)


def test_high_severity_staffs_incident_manager(rules) -> None:
    """staff-incident-manager: severity 2 engages an Incident Manager (but not a CMOC)."""
    plan = plan_for(rules, "issue.open.incident", labels=["severity::2"])
    assigned = {u for a in plan.of(Assign) for u in a.usernames}
    assert "im-alice" in assigned and "cmoc-erin" not in assigned


def test_critical_staffs_communications(rules) -> None:
    """staff-communications: severity 1 engages IM, EOC and CMOC."""
    plan = plan_for(rules, "issue.open.incident", labels=["severity::1"])
    assert {u for a in plan.of(Assign) for u in a.usernames} == {"eoc-carol", "im-alice", "cmoc-erin"}


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Phishing emails asking for SSO credentials", "security"),
        ("Customer data loss after migration", "data-loss"),
        ("API latency above 2s", "performance"),
        ("Checkout returns 500 errors", "availability"),
    ],
)
def test_category_inference(rules, title, category) -> None:
    """infer-*: the title routes the incident to its owning team's category."""
    plan = plan_for(rules, "issue.open.incident", title=title, description="")
    assert f"incident-category::{category}" in added(plan)


def test_security_incident_staffs_sirt(rules) -> None:
    """staff-sirt: a security incident gets SIRT on call, at any severity."""
    plan = plan_for(
        rules, "issue.open.incident", title="Leaked token in public repo", description="", labels=["severity::4"]
    )
    assert "sirt-frank" in {u for a in plan.of(Assign) for u in a.usernames}


def test_native_severity_follows_label(rules) -> None:
    """native-severity-sync: GitLab's own severity field follows the label."""
    assert [a.severity for a in plan_for(rules, "issue.open.incident").of(SetNativeSeverity)] == ["MEDIUM"]


def test_native_severity_sync_can_be_switched_off(rules) -> None:
    """With `native_severity_sync: false` no GraphQL call is planned."""
    from dataclasses import replace

    off = replace(rules, settings=replace(rules.settings, native_severity_sync=False))
    assert plan_for(off, "issue.open.incident").of(SetNativeSeverity) == []


def test_declared_notifies_responders_only(rules) -> None:
    """notify-responders-declared: a severity 3 incident tells responders, not executives."""
    plan = plan_for(rules, "issue.open.incident")
    assert [(n.channel, n.message) for n in plan.of(Notify)] == [("responders", "declared")]
    (notice,) = plan.of(Notify)
    assert notice.severity == 3 and notice.phase == "Identification"
    assert ("Engineer On Call (EOC)", "eoc-carol") in notice.roles


def test_critical_declared_notifies_executives(rules) -> None:
    """notify-executives-declared: severity 1–2 incidents reach executives too."""
    plan = plan_for(rules, "issue.open.incident", labels=["severity::2"])
    assert {n.channel for n in plan.of(Notify)} == {"responders", "executives"}


def test_critical_incident_schedules_reminders(rules) -> None:
    """status-update-reminders: severity 1 reminds every 30 minutes, IM first."""
    (reminder,) = plan_for(rules, "issue.open.incident", labels=["severity::1"]).of(ScheduleReminder)
    assert reminder.minutes == 30 and reminder.roles == ("incident-manager", "eoc")


def test_medium_incident_has_no_reminders(rules) -> None:
    """Severity 3 has no update cadence."""
    assert plan_for(rules, "issue.open.incident").of(ScheduleReminder) == []


# Story 2: severity changed.


def test_escalation(rules) -> None:
    """exclusive-severity, announce-escalation, notify-*-escalated: the added label wins, roles staffed, told."""
    plan = plan_for(rules, "issue.update.severity", memory=DECLARED)
    change = label_change(plan, frozenset([*BASE, "severity::1"]))
    assert change.remove == ("severity::3",) and change.add == ()
    assert {u for a in plan.of(Assign) for u in a.usernames} == {"im-alice", "cmoc-erin"}
    assert "Escalated: severity 3 → 1 (critical)" in note_body(plan)
    assert {(n.channel, n.message) for n in plan.of(Notify)} == {
        ("responders", "escalated"),
        ("executives", "escalated"),
    }
    assert [a.severity for a in plan.of(SetNativeSeverity)] == ["CRITICAL"]
    assert (reminder := plan.of(ScheduleReminder)) and reminder[0].minutes == 30


def test_deescalation_keeps_people(rules) -> None:
    """announce-deescalation, notify-responders-deescalated: nobody is unassigned; responders told."""
    memory = {**DECLARED, "severity": 1, "staffed": {"eoc": "eoc-carol", "incident-manager": "im-alice"}}
    plan = plan_for(
        rules,
        "issue.update.severity",
        memory=memory,
        labels=["incident", "severity::4", "incident::identification", "incident-category::availability"],
    )
    assert plan.of(Unassign) == [] and plan.of(Assign) == []
    assert "De-escalated: severity 1 → 4 (low)" in note_body(plan)
    assert [(n.channel, n.message) for n in plan.of(Notify)] == [("responders", "deescalated")]


def test_native_severity_change_moves_the_label(rules) -> None:
    """native-severity: a person setting GitLab's severity to High gets `severity::2`."""
    data_labels = BASE
    plan = plan_for(rules, "issue.update.title", memory=DECLARED, labels=data_labels, severity="high")
    # The fixture's `changes` has no severity diff; build the event's change explicitly.
    assert "severity::2" not in added(plan, frozenset(data_labels))
    data = payload("issue.update.title")
    data["object_attributes"]["severity"] = "high"
    data["changes"] = {"severity": {"previous": "medium", "current": "high"}}
    event = parse_event(data, delivery_id="n")
    st = IncidentState(issue=Issue(project_id=1, iid=23, labels=frozenset(data_labels)), memory=DECLARED)
    plan = plan_event(event, st, rules, NOW)
    assert set(label_change(plan, frozenset(data_labels)).add) == {"severity::2"}
    assert "native-severity" in rules_of(plan)


def test_repeated_label_event_changes_nothing(rules) -> None:
    """Rules react to differences from what the bot handled, so a repeat plans nothing."""
    memory = {
        **DECLARED,
        "severity": 1,
        "staffed": {"eoc": "eoc-carol", "incident-manager": "im-alice", "cmoc": "cmoc-erin"},
    }
    labels = ["incident", "severity::1", "incident::identification", "incident-category::availability"]
    assert plan_for(rules, "issue.update.severity", memory=memory, labels=labels).empty


# Story 3: phase changed.

CHECKLIST_NOTE = Note(
    id=5,
    author="incident-bot",
    body="### Identification\n<!-- incident-bot:checklist identification -->\n"
    "- [x] Confirm the impact and scope\n- [ ] Set the category label\n- [ ] Start the timeline",
)


def test_phase_guidance_names_unticked_items(rules) -> None:
    """phase-guidance, exclusive-phase, notify-responders-phase: one phase label, checklist, leftovers named."""
    labels = [
        "incident",
        "severity::3",
        "incident::mitigation",
        "incident::identification",
        "incident-category::availability",
    ]
    plan = plan_for(rules, "issue.update.phase", memory=DECLARED, labels=labels, notes=(CHECKLIST_NOTE,))
    assert label_change(plan, frozenset(labels)).remove == ("incident::identification",)
    body = note_body(plan)
    assert "Still open from **Identification**:\n- Set the category label\n- Start the timeline" in body
    assert "Confirm the impact" not in body.split("Still open")[1].split("###")[0]
    assert "### Mitigation" in body and "- [ ] Stop or contain the impact" in body
    assert [(n.channel, n.message) for n in plan.of(Notify)] == [("responders", "phase")]


def test_skipped_phase_still_gets_guidance(rules) -> None:
    """Jumping from identification to remediation posts mitigation's guidance too."""
    labels = ["incident", "severity::3", "incident::remediation", "incident-category::availability"]
    body = note_body(plan_for(rules, "issue.update.phase", memory=DECLARED, labels=labels))
    assert "### Mitigation (skipped phase" in body and "### Remediation" in body


def test_close_resolves_and_opens_review_for_high_severity(rules) -> None:
    """close-resolves, announce-resolution, review-for-high-severity, notify-*-resolved."""
    memory = {**DECLARED, "severity": 2, "timeline": [{"at": "2026-11-27 09:00 UTC", "what": "incident declared"}]}
    labels = ["incident", "severity::2", "incident::identification", "incident-category::availability"]
    plan = plan_for(rules, "issue.close.incident", memory=memory, labels=labels)
    change = label_change(plan, frozenset(labels))
    assert change.add == ("incident::post-incident",) and change.remove == ("incident::identification",)
    (review,) = plan.of(OpenReview)
    assert review.title.startswith("Post-incident review: ")
    assert "incident declared" in review.preview and "phase identification → post-incident" in review.preview
    assert "Post-incident review opened: {review_url}" in note_body(plan)
    assert "## Resolved" in note_body(plan)
    assert {(n.channel, n.message) for n in plan.of(Notify)} == {("responders", "resolved"), ("executives", "resolved")}


def test_close_of_low_severity_has_no_review(rules) -> None:
    """Reviews are required for severity 1–2 only."""
    plan = plan_for(rules, "issue.close.incident", memory=DECLARED, labels=BASE)
    assert plan.of(OpenReview) == [] and "incident::post-incident" in added(plan, frozenset(BASE))


def test_reopen_returns_to_mitigation(rules) -> None:
    """reopen-returns-to-mitigation: a resolved incident that is reopened is active again."""
    memory = {**DECLARED, "phase": "post-incident"}
    labels = ["incident", "severity::3", "incident::post-incident", "incident-category::availability"]
    plan = plan_for(rules, "issue.close.incident", memory=memory, labels=labels, action="reopen", state="opened")
    assert "incident::mitigation" in added(plan, frozenset(labels))


def test_human_comment_resets_reminders(rules) -> None:
    """status-update-reminders: any human comment on a severity 1 incident restarts the cadence."""
    memory = {
        **DECLARED,
        "severity": 1,
        "staffed": {"eoc": "eoc-carol", "incident-manager": "im-alice", "cmoc": "cmoc-erin"},
    }
    labels = ["incident", "severity::1", "incident::mitigation", "incident-category::availability"]
    plan = plan_for(rules, "note.create.incident", memory={**memory, "phase": "mitigation"}, labels=labels)
    assert [type(a).__name__ for a in plan.actions] == ["ScheduleReminder"]


def test_every_shipped_rule_is_exercised(rules) -> None:
    """A shipped rule nobody tests fails this: every rule must fire in some scenario of this file."""
    fired: set[str] = set()
    scenarios: list[tuple[str, dict[str, Any]]] = [
        ("issue.open.incident", {"labels": ["severity::1"]}),
        ("issue.open.incident", {"title": "phishing", "description": ""}),
        ("issue.open.incident", {"title": "data loss", "description": ""}),
        ("issue.open.incident", {"title": "slow", "description": ""}),
        ("issue.update.severity", {"memory": DECLARED}),
        ("issue.update.severity", {"memory": {**DECLARED, "severity": 1}, "labels": BASE}),
        ("issue.update.phase", {"memory": DECLARED}),
        (
            "issue.close.incident",
            {"memory": {**DECLARED, "severity": 2}, "labels": ["incident", "severity::2", "incident::identification"]},
        ),
        (
            "issue.close.incident",
            {
                "memory": {**DECLARED, "phase": "post-incident"},
                "labels": ["incident", "incident::post-incident"],
                "action": "reopen",
                "state": "opened",
            },
        ),
    ]
    for fixture, kwargs in scenarios:
        fired |= rules_of(plan_for(rules, fixture, **kwargs))
    missing = {rule.name for rule in rules.rules} - fired
    assert not missing, f"shipped rules never fired: {missing}"
