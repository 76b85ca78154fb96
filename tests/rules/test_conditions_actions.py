"""Every condition and action of the rules format, each shown to match (or act) and not to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.plan import CloseIssue, Notify, OpenReview, ScheduleReminder
from service.rules import RuleSet, load_rules
from service.worker.executor import label_change, note_body
from tests.conftest import DECLARED, DECLARED_LABELS, NOW, payload
from tests.rulesdir import TEST_RULES

LABELS = DECLARED_LABELS


def ruleset(tmp_path: Path, rules: list[dict[str, Any]]) -> RuleSet:
    """The shipped rules plus `rules` in their own file."""
    folder = tmp_path / "rules"
    if not folder.exists():
        shutil.copytree(TEST_RULES, folder)
    (folder / "zz-test.yml").write_text(yaml.safe_dump({"rules": rules}))
    return load_rules(folder)


def plan(
    rules: RuleSet,
    fixture: str = "issue.update.title",
    *,
    labels: list[str] | None = None,
    memory: dict[str, Any] | None = None,
    event_changes: dict[str, Any] | None = None,
    **attrs: Any,
):
    data = payload(fixture)
    data["object_attributes"].update(attrs)
    if event_changes is not None:
        data["changes"] = event_changes
    event = parse_event(json.loads(json.dumps(data)), delivery_id="d")
    issue = Issue(
        project_id=1,
        iid=23,
        title=event.title,
        description=event.description,
        state=event.state,
        labels=frozenset(labels if labels is not None else LABELS),
        confidential=event.confidential,
    )
    return plan_event(event, IncidentState(issue=issue, memory=memory if memory is not None else DECLARED), rules, NOW)


def hit(rules: RuleSet, **kwargs: Any) -> bool:
    return "hit" in label_change(plan(rules, **kwargs), frozenset(kwargs.get("labels") or LABELS)).add


def label(t: str) -> dict[str, Any]:
    return {"title": t}


CASES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"kind": "issue"}, {}, {"fixture": "note.create.incident"}),
    ({"action": ["update"]}, {}, {"action": "close", "state": "closed"}),
    (
        {"severity": 3},
        {},
        {"labels": ["incident", "severity::2", "incident::identification"], "memory": {**DECLARED, "severity": 2}},
    ),
    (
        {"phase": "identification"},
        {},
        {"labels": ["incident", "severity::3", "incident::mitigation"], "memory": {**DECLARED, "phase": "mitigation"}},
    ),
    (
        {"category": "availability"},
        {},
        {
            "labels": ["incident", "severity::3", "incident::identification", "incident-category::security"],
            "memory": {**DECLARED, "category": "security"},
        },
    ),
    (
        {"category_changed": True},
        {"labels": ["incident", "severity::3", "incident::identification", "incident-category::security"]},
        {},
    ),
    ({"has_label": ["incident", "frontend"]}, {"labels": [*LABELS, "frontend"]}, {}),
    ({"lacks_label": "frontend"}, {}, {"labels": [*LABELS, "frontend"]}),
    (
        {"label_added": "frontend"},
        {"event_changes": {"labels": {"previous": [], "current": [label("frontend")]}}},
        {"event_changes": {"labels": {"previous": [label("frontend")], "current": []}}},
    ),
    (
        {"label_removed": "frontend"},
        {"event_changes": {"labels": {"previous": [label("frontend")], "current": []}}},
        {"event_changes": {"labels": {"previous": [], "current": [label("frontend")]}}},
    ),
    ({"title_matches": "^checkout"}, {}, {"title": "Login broken"}),
    ({"description_matches": "pay"}, {}, {"description": "Login broken"}),
    ({"text_matches": "PAY"}, {"title": "x"}, {"title": "x", "description": "y"}),
    ({"actor": ["alice", "bob"]}, {}, {"fixture": "issue.update.title", "_actor": "mallory"}),
    ({"confidential": True}, {"confidential": True}, {}),
    (
        {"role_staffed": "incident-manager"},
        {"memory": {**DECLARED, "staffed": {"eoc": "eoc-carol", "incident-manager": "im-alice"}}},
        {},
    ),
    ({"any": [{"severity": 1}, {"title_matches": "checkout"}]}, {}, {"title": "Login broken"}),
    (
        {"not": {"severity": 1}},
        {},
        {
            "labels": ["incident", "severity::1", "incident::identification"],
            "memory": {
                **DECLARED,
                "severity": 1,
                "staffed": {"eoc": "eoc-carol", "incident-manager": "im-alice", "cmoc": "cmoc-erin"},
            },
        },
    ),
]


@pytest.mark.parametrize(("when", "match", "miss"), CASES, ids=[next(iter(c[0])) for c in CASES])
def test_condition(tmp_path: Path, when: dict[str, Any], match: dict[str, Any], miss: dict[str, Any]) -> None:
    """The condition holds in one situation and not in the other."""
    rules = ruleset(tmp_path, [{"name": "probe", "when": when, "then": [{"add_labels": ["hit"]}]}])

    def run(kwargs: dict[str, Any]) -> bool:
        kwargs = dict(kwargs)
        actor = kwargs.pop("_actor", None)
        fixture = kwargs.pop("fixture", "issue.update.title")
        if actor:
            data = payload(fixture)
            data["user"]["username"] = actor
            event = parse_event(data, delivery_id="d")
            issue = Issue(project_id=1, iid=23, labels=frozenset(LABELS))
            result = plan_event(event, IncidentState(issue=issue, memory=DECLARED), rules, NOW)
            return "hit" in label_change(result, frozenset(LABELS)).add
        return hit(rules, fixture=fixture, **kwargs)

    assert run(match) is True
    assert run(miss) is False


def test_label_actions_and_close(tmp_path: Path) -> None:
    """add_labels, remove_labels and close_issue."""
    rules = ruleset(
        tmp_path,
        [
            {
                "name": "tidy",
                "when": {"phase": "identification"},
                "then": [{"add_labels": ["needs-review"]}, {"remove_labels": ["incident"]}, {"close_issue": True}],
            }
        ],
    )
    result = plan(rules)
    change = label_change(result, frozenset(LABELS))
    assert change.add == ("needs-review",) and change.remove == ("incident",)
    assert result.of(CloseIssue)


def test_comment_notify_remind_review(tmp_path: Path) -> None:
    """comment (inline template), notify by channel name, remind with its own cadence, open_review with a template."""
    rules = ruleset(
        tmp_path,
        [
            {
                "name": "all",
                "when": {"kind": "issue"},
                "then": [
                    {"comment": "Hello {{ incident.title }} ({{ incident.severity_name }})"},
                    {"notify": "responders"},
                    {"remind": {"role": "eoc", "every_minutes": 15}},
                    {"open_review": {"template": "review", "labels": ["retro"]}},
                ],
            }
        ],
    )
    result = plan(rules, title="Checkout @all /close")
    body = note_body(result)
    # The title arrives neutralised (service/text.py decides how): no live `@all` mention.
    assert "Hello Checkout " in body and "/close (medium)" in body and "@all" not in body
    assert [(n.channel, n.message) for n in result.of(Notify)] == [("responders", "status_update")]
    assert [(r.minutes, r.roles) for r in result.of(ScheduleReminder)] == [(15.0, ("eoc",))]
    (review,) = result.of(OpenReview)
    assert review.labels == ("retro",) and "Timeline so far" in review.preview


def test_rule_fires_once_per_delivery_even_if_it_matches_again(tmp_path: Path) -> None:
    """A rule's actions are applied once per delivery, however many passes the fixpoint takes."""
    rules = ruleset(tmp_path, [{"name": "chatty", "when": {"kind": "issue"}, "then": [{"comment": "once"}]}])
    assert note_body(plan(rules)).count("once") == 1
