"""Planning drills, pure: payload and state in, plan out (and `simulate` showing the same)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.plan import Notify, OpenDrill, Plan, PostNote, ScheduleInjects, SetNativeSeverity
from service.rules import RuleSet
from service.rules.drills import drill_marker
from tests.conftest import DECLARED, NOW, payload
from tests.planning import plan_for

DRILL = ["incident", "drill", "incident-category::availability"]


def asked(rules: RuleSet, note: str, labels: list[str], access: int) -> Plan:
    """The plan for a new comment on issue 1#23, which carries `labels` (no incident label: no incident)."""
    data = payload("note.create.incident")
    data["object_attributes"]["note"] = note
    data["issue"]["labels"], data["issue"]["type"] = [{"title": x} for x in labels], "Issue"
    event = parse_event(data, delivery_id="ask-1")
    issue = Issue(project_id=1, iid=23, title="Q3 training plan", labels=frozenset(labels), issue_type="issue")
    return plan_event(event, IncidentState(issue=issue), rules, NOW, access=access)


def described() -> str:
    return f"Things break.\n\n{drill_marker('database-outage')}"


def test_a_drill_declaration_schedules_its_injects_once(rules: RuleSet) -> None:
    """The first delivery of a drill plans ScheduleInjects with the scenario's injects; later ones do not."""
    plan = plan_for(rules, "issue.open.incident", labels=DRILL, description=described())
    (injects,) = plan.of(ScheduleInjects)
    scenario = rules.drills["database-outage"]
    assert injects.scenario == "database-outage"
    assert injects.injects == tuple((i.after_minutes, i.text) for i in scenario.injects)
    assert any(
        "the bot will post 4 new developments" in n.body and "go to `training` only" in n.body
        for n in plan.of(PostNote)
    )
    later = plan_for(rules, "issue.update.severity", labels=DRILL, memory=DECLARED, description=described())
    assert later.of(ScheduleInjects) == []


def test_no_injects_without_the_drill_label_or_a_known_marker(rules: RuleSet) -> None:
    """A real incident quoting a marker, or a drill naming a scenario the rules lack: no injects."""
    real = plan_for(rules, "issue.open.incident", labels=["incident"], description=described())
    unknown = plan_for(rules, "issue.open.incident", labels=DRILL, description=drill_marker("volcano"))
    assert real.of(ScheduleInjects) == [] and unknown.of(ScheduleInjects) == []


def test_a_drills_notifications_go_to_training_once_each(rules: RuleSet) -> None:
    """A severity 1 drill: what would tell responders, executives and the area's channel tells `training`, once."""
    real = plan_for(rules, "issue.open.incident", labels=["incident", "severity::1", "incident-category::availability"])
    assert {n.channel for n in real.of(Notify)} >= {"responders", "executives"}
    plan = plan_for(rules, "issue.open.incident", labels=[*DRILL, "severity::1"], description=described())
    notified = [(n.channel, n.message) for n in plan.of(Notify)]
    assert notified == [("training", "declared")]
    assert plan.of(Notify)[0].rule == "drill-training-channel"


def test_dropping_the_drill_label_still_routes_that_delivery(rules: RuleSet) -> None:
    """The drill label removed in this very delivery: what it causes still goes to training only."""
    data_labels = ["incident", "severity::1"]
    plan = plan_for(rules, "issue.update.severity", labels=data_labels, memory={**DECLARED, "severity": 3})
    assert {n.channel for n in plan.of(Notify)} >= {"executives"}
    plan = plan_for(rules, "issue.update.severity", labels=[*data_labels, "drill"], memory={**DECLARED, "severity": 3})
    assert {n.channel for n in plan.of(Notify)} == {"training"}


def test_drill_command_on_an_issue_that_is_no_incident(rules: RuleSet) -> None:
    """Only `drill` is planned there: an OpenDrill and the reply; other commands and the process do nothing."""
    plan = asked(rules, "@incident-bot drill third-party-degraded", ["severity::2"], 30)
    (opened,) = plan.of(OpenDrill)
    assert opened.title == "[DRILL] Payment provider degraded" and "drill" in opened.labels
    assert plan.of(SetNativeSeverity) == [] and plan.of(Notify) == []
    assert [type(a).__name__ for a in plan.actions] == ["OpenDrill", "PostNote"]
    for note in ("@incident-bot severity 1", "@incident-bot help", "a comment"):
        assert asked(rules, note, ["severity::2"], 30).empty, note


def test_the_drill_command_is_refused_below_developer(rules: RuleSet) -> None:
    """A Reporter asking for a drill gets the refusal, and no OpenDrill."""
    plan = asked(rules, "@incident-bot drill database-outage", [], 20)
    assert plan.of(OpenDrill) == [] and "at least Developer" in plan.of(PostNote)[0].body


def test_help_lists_the_drill_command_and_the_scenarios(rules: RuleSet) -> None:
    """The help table names `drill <scenario>` and every scenario."""
    plan = plan_for(rules, "note.create.incident", note="@incident-bot help", access=30, memory=DECLARED)
    body = next(n.body for n in plan.of(PostNote) if n.rule == "command:help")
    assert "`@incident-bot drill <scenario>`" in body
    assert "database-outage, leaked-credential, third-party-degraded" in body


def test_simulate_shows_the_routing_and_the_drill_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simulate` of a drill's declaration shows Notify(training) and the injects; of a request, the OpenDrill."""
    data = payload("issue.open.incident")
    data["object_attributes"]["description"] = described()
    data["labels"] = data["object_attributes"]["labels"] = [{"title": x} for x in [*DRILL, "severity::1"]]
    (tmp_path / "drill.json").write_text(json.dumps(data))
    assert main(["simulate", str(tmp_path / "drill.json")]) == 0
    out = capsys.readouterr().out
    assert "Notify(channel='training', message='declared'" in out and "channel='executives'" not in out
    assert "ScheduleInjects(scenario='database-outage'" in out
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = "@incident-bot drill leaked-credential"
    note["issue"]["labels"], note["issue"]["type"] = [], "Issue"
    (tmp_path / "ask.json").write_text(json.dumps(note))
    assert main(["simulate", str(tmp_path / "ask.json")]) == 0
    assert "OpenDrill(scenario='leaked-credential'" in capsys.readouterr().out


def test_the_handbook_lists_the_scenarios_without_their_answers(rules: RuleSet) -> None:
    """The drills page names each scenario and how to open it; injects and expected phases stay out of it."""
    from service.knowledge.handbook import build, file_link, render

    pages = build(rules)
    page = next(p for p in pages if p.slug == "drills")
    text = render(page, "md", file_link("md"), nav=pages)
    for drill in rules.drills.values():
        assert f"## {drill.title} (`{drill.name}`)" in text and f"`@incident-bot drill {drill.name}`" in text
        assert not any(i.text[:40] in text for i in drill.injects)
    assert "by_minutes" not in text and "`training` only" in text
    assert "[Drills](drills.md)" in render(pages[0], "md", file_link("md"), nav=pages)


def test_a_status_update_in_a_drill_says_where_it_went(rules: RuleSet) -> None:
    """`@bot update` in a drill is sent to `training` and the reply names `training`, not the broadcast channels."""
    labels = [*DRILL, "severity::3", "incident::identification"]
    plan = plan_for(
        rules,
        "note.create.incident",
        note="@incident-bot update Replica promoted",
        labels=labels,
        access=30,
        memory=DECLARED,
    )
    reply = next(n.body for n in plan.of(PostNote) if n.rule == "command:update")
    assert "sent to `training`" in reply and "responders" not in reply
    assert [(n.channel, n.message) for n in plan.of(Notify)] == [("training", "status_update")]


def test_removing_the_drill_label_while_escalating_tells_training_only(rules: RuleSet) -> None:
    """One Issue Hook removes `drill` and raises severity to 1 (GitLab now has neither drill label nor the old
    severity): the drill label was there before this delivery, so only `training` hears of the escalation."""
    data = payload("issue.update.severity")
    previous = data["changes"]["labels"]["previous"]
    previous.append({**previous[0], "id": 399, "title": "drill"})
    now = ["incident", "severity::1", "incident::identification"]
    data["changes"]["labels"]["current"] = [{"title": x} for x in now]
    data["labels"] = data["object_attributes"]["labels"] = [{"title": x} for x in now]
    event = parse_event(data, delivery_id="undrill-1")
    assert "drill" in event.labels_removed and "drill" not in event.labels
    issue = Issue(project_id=1, iid=23, labels=frozenset(now), issue_type="incident")
    memory = {**DECLARED, "severity": 3}
    plan = plan_event(event, IncidentState(issue=issue, memory=memory), rules, NOW)
    assert plan.of(Notify), "the escalation is announced"
    assert {n.channel for n in plan.of(Notify)} == {"training"}
