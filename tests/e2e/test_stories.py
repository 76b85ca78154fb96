"""The three stories through the real processes: gunicorn web, RQ worker, fake GitLab over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.incident import MARKER, read_memory
from service.rules import RuleSet
from service.text import neutralise
from tests.conftest import body
from tests.e2e.harness import Stack, accepted, calls, header, summary
from tests.fakegitlab import Call, FakeGitLab

pytestmark = pytest.mark.e2e

ISSUE = "/projects/1/issues/23"
NOTES = f"{ISSUE}/notes"
GRAPHQL = "/api/graphql"
# The title says "500 errors": the shipped rules infer the availability category.
OPEN_LABELS = "incident-category::availability,incident::identification,severity::3"
TICKED = "Confirm the severity against the table of levels"


def on_call(rules: RuleSet, rotation: str) -> str:
    """Who the shipped rotation has on call right now (the worker uses the real clock)."""
    user = rules.rotations[rotation].on_call(datetime.now(UTC))
    assert user is not None
    return user


# Calls the worker sends together (service.gitlab.together), any of which may reach GitLab first: the reads of
# the incident (with the bot's user, an hour's first delivery), and the issue's writes.
TOGETHER = ({("GET", "/user"): 0, ("GET", ISSUE): 1, ("GET", NOTES): 2}, {("PUT", ISSUE): 0, ("POST", GRAPHQL): 1})


def canonical(found: list[Call]) -> list[Call]:
    """The calls, each run sent together in one fixed order (the user, the issue, its notes; the PUT, then the
    severity's GraphQL, then the assignees')."""
    ordered, i = [], 0
    while i < len(found):
        group = next((g for g in TOGETHER if (found[i].method, found[i].path) in g), {})
        j = i + 1
        while group and j < len(found) and (found[j].method, found[j].path) in group:
            j += 1
        ordered += sorted(
            found[i:j], key=lambda c: (group.get((c.method, c.path), 0), "issueSetAssignees" in str(c.body))
        )
        i = j
    return ordered


def shape(found: list[Call]) -> list[tuple[str, str]]:
    """(method, path) of each call, for exact sequence assertions."""
    return [(c.method, c.path) for c in found]


def writes_since(gitlab: FakeGitLab, mark: int) -> list[Call]:
    """The writes the fake received after the first `mark` calls."""
    return canonical([c for c in calls(gitlab)[mark:] if c.is_write])


def settle(stack: Stack, data: bytes, key: str, event_uuid: str) -> None:
    """Post a delivery and wait until its job has finished."""
    stack.wait_finished(accepted(stack.post(data, key=key, event_uuid=event_uuid)))


def declare(stack: Stack) -> None:
    """Story 1 as a precondition: the incident is opened and handled."""
    settle(stack, body("issue.open.incident"), "open-1", "uuid-open")


def escalate(stack: Stack, gitlab: FakeGitLab) -> None:
    """Story 2 as a precondition: a person sets severity::1 and the bot handles it."""
    with gitlab.lock:
        gitlab.issues[(1, 23)]["labels"].append("severity::1")
    settle(stack, body("issue.update.severity"), "severity-1", "uuid-severity")


def test_open_incident_is_handled_with_the_fewest_calls_and_redeliveries_write_nothing(
    stack: Stack, gitlab: FakeGitLab, rules: RuleSet
) -> None:
    """Story 1: exact GitLab calls for a new incident; a redelivery is a duplicate; a title edit writes nothing."""
    stack.start_web()
    stack.start_worker()
    on_call_before = on_call(rules, "engineers-on-call")
    data = body("issue.open.incident")
    job_id = accepted(stack.post(data, key="open-1", event_uuid="uuid-open"))
    stack.wait_finished(job_id)

    got = canonical(calls(gitlab))
    assert shape(got) == [
        ("GET", "/user"),
        ("GET", ISSUE),
        ("GET", NOTES),
        ("PUT", ISSUE),
        ("POST", GRAPHQL),
        ("POST", GRAPHQL),
        ("POST", NOTES),
    ], summary(got)
    (eoc,) = got[5].body["variables"]["assigneeUsernames"]  # staffed by username: no user lookup
    # The rotation hands over daily; the delivery may straddle a hand-over.
    assert eoc in {on_call_before, on_call(rules, "engineers-on-call")}
    assert got[3].body == {"add_labels": OPEN_LABELS}
    assert got[4].body["variables"] == {"projectPath": "gitlabhq/gitlab-test", "iid": "23", "severity": "MEDIUM"}
    assert [a["username"] for a in gitlab.issues[(1, 23)]["assignees"]] == [eoc]
    assert [header(c, "X-Gitlab-Event-UUID") for c in got if c.is_write] == ["uuid-open"] * 4
    (note,) = gitlab.bot_notes()
    assert f"<!-- {MARKER} " in note["body"]
    assert (read_memory(note["body"]) or {})["deliveries"] == ["open-1"]
    assert f"@{eoc}" in note["body"] and "## Incident declared: severity 3 (medium)" in note["body"]

    # GitLab retries and manual resends carry the same Idempotency-Key: nothing is queued, nothing called.
    seen = len(got)
    again = stack.post(data, key="open-1", event_uuid="uuid-open")
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert stack.idle()
    assert len(calls(gitlab)) == seen

    # An edit the process does not react to (the title) is read, planned as empty, and writes nothing.
    settle(stack, body("issue.update.title"), "title-1", "uuid-title")
    assert writes_since(gitlab, seen) == []
    assert len(gitlab.bot_notes()) == 1


def test_raised_severity_staffs_the_roles_it_needs_once(stack: Stack, gitlab: FakeGitLab, rules: RuleSet) -> None:
    """Story 2: severity 3 → 1 drops severity::3, assigns IM and CMOC, syncs CRITICAL, notes it; once only."""
    stack.start_web()
    stack.start_worker()
    declare(stack)
    eocs = [a["username"] for a in gitlab.issues[(1, 23)]["assignees"]]
    im, cmoc = on_call(rules, "incident-managers"), on_call(rules, "communications")
    with gitlab.lock:
        gitlab.issues[(1, 23)]["labels"].append("severity::1")  # what the person did in GitLab
    mark = len(calls(gitlab))
    settle(stack, body("issue.update.severity"), "severity-1", "uuid-severity")

    writes = writes_since(gitlab, mark)
    assert shape(writes) == [("PUT", ISSUE), ("POST", GRAPHQL), ("POST", GRAPHQL), ("POST", NOTES)], summary(writes)
    put, graphql, staffed, note = writes
    assert put.body == {"remove_labels": "severity::3"}
    assert set(staffed.body["variables"]["assigneeUsernames"]) == {*eocs, im, cmoc}
    assert graphql.body["variables"]["severity"] == "CRITICAL"
    assert "## Escalated: severity 3 → 1 (critical)" in note.body["body"]
    assert f"@{im}" in note.body["body"] and f"@{cmoc}" in note.body["body"]
    assert all(header(c, "X-Gitlab-Event-UUID") == "uuid-severity" for c in writes)
    assert {"severity::1"} == {label for label in gitlab.labels() if label.startswith("severity::")}

    # The same label event delivered again under a new key: the bot's memory says it is handled.
    mark = len(calls(gitlab))
    settle(stack, body("issue.update.severity"), "severity-2", "uuid-severity-2")
    assert writes_since(gitlab, mark) == []
    assert len(gitlab.bot_notes()) == 2


def test_phase_change_and_close_post_guidance_and_open_the_review(
    stack: Stack, gitlab: FakeGitLab, rules: RuleSet
) -> None:
    """Story 3: mitigation names what identification left open; closing a severity 1 opens a linked review."""
    stack.start_web()
    stack.start_worker()
    declare(stack)
    escalate(stack, gitlab)
    with gitlab.lock:
        # A responder ticks one item of the identification checklist, then moves the incident on.
        declared = next(n for n in gitlab.bot_notes() if "incident-bot:checklist identification" in n["body"])
        declared["body"] = declared["body"].replace(f"- [ ] {TICKED}", f"- [x] {TICKED}")
        gitlab.issues[(1, 23)]["labels"].append("incident::mitigation")
    mark = len(calls(gitlab))
    settle(stack, body("issue.update.phase"), "phase-1", "uuid-phase")

    writes = writes_since(gitlab, mark)
    assert shape(writes) == [("PUT", ISSUE), ("POST", NOTES)], summary(writes)
    assert writes[0].body == {"remove_labels": "incident::identification"}
    text = writes[1].body["body"]
    assert "### Mitigation" in text
    still_open = text.split("Still open from **Identification**:", 1)[1].split("\n\n", 1)[0]
    identification = rules.phase("identification")
    assert identification is not None
    # Items read back from a note are rendered under the user-text policy (a code span's backticks escaped).
    assert [line.removeprefix("- ") for line in still_open.strip().splitlines()] == [
        neutralise(item) for item in identification.checklist if item != TICKED
    ]

    with gitlab.lock:
        gitlab.issues[(1, 23)]["state"] = "closed"  # the person closed the issue
    mark = len(calls(gitlab))
    settle(stack, body("issue.close.incident"), "close-1", "uuid-close")

    writes = writes_since(gitlab, mark)
    assert shape(writes) == [
        ("PUT", ISSUE),
        ("POST", "/projects/1/issues"),
        ("POST", f"{ISSUE}/links"),
        ("POST", NOTES),
    ], summary(writes)
    assert writes[0].body == {"add_labels": "incident::post-incident", "remove_labels": "incident::mitigation"}
    review = gitlab.issues[(1, 501)]
    assert review["title"] == "Post-incident review: Checkout returns 500 errors"
    assert review["labels"] == ["post-incident-review"]
    assert writes[2].body == {"target_project_id": 1, "target_issue_iid": 501}
    text = writes[3].body["body"]
    assert "## Resolved" in text and "### Post-incident" in text
    assert f"Post-incident review opened: {review['web_url']}" in text
    assert (read_memory(text) or {})["review"] == {"iid": 501, "url": review["web_url"], "confidential": False}
    assert "incident::post-incident" in gitlab.labels()
