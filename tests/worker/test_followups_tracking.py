"""Follow-ups tracked through their own Issue Hooks: the list kept in place, adoption by label and link, replays."""

from __future__ import annotations

import pytest

from service.store import Store
from service.store.corrective import of_incident
from service.worker import process_delivery
from tests.conftest import body
from tests.followups import LABEL, comment, follow_up_issues, issue_hook, list_note

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time


def declare_with_follow_up(fake) -> dict:
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")
    comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    (issue,) = follow_up_issues(fake)
    return issue


def test_closing_a_follow_up_ticks_it_in_the_same_note(fake, runtime, indexed: Store) -> None:
    """The follow-up's issue closes: its Issue Hook ticks it in the incident's one Follow-ups note (edited in place)."""
    issue = declare_with_follow_up(fake)
    before = [n["id"] for n in fake.bot_notes() if "incident-bot:follow-ups" in n["body"]]
    issue.update(state="closed", closed_at="2026-12-02T15:00:00Z", updated_at="2026-12-02T15:00:00Z")
    assert issue_hook(fake, issue["iid"], "close-1") == "applied: follow-up tracked"
    assert "- [x] " in list_note(fake) and "closed 2026-12-02" in list_note(fake) and "1 of 1 done" in list_note(fake)
    assert [n["id"] for n in fake.bot_notes() if "incident-bot:follow-ups" in n["body"]] == before
    (row,) = of_incident(indexed.engine, 1, 23)
    assert row.state == "closed" and row.closed_at is not None


def test_an_issue_labelled_and_linked_by_hand_is_adopted(fake, runtime, indexed: Store) -> None:
    """Someone links 1#41 to the incident and gives it the label: its Issue Hook makes it a follow-up, dated."""
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")
    issue = fake.add_issue(1, 41, title="Document the failover", labels=[LABEL])
    issue["issue_type"] = "issue"
    fake.links[(1, 41)], fake.links[(1, 23)] = [(1, 23)], [(1, 41)]
    assert issue_hook(fake, 41, "label-1", previous=[]) == "applied: follow-up tracked"
    assert [r.iid for r in of_incident(indexed.engine, 1, 23)] == [41]
    assert issue["due_date"] == "2027-01-26" and "Document the failover" in list_note(fake)


def test_a_labelled_issue_linked_to_no_incident_is_left_alone(fake, runtime, indexed: Store) -> None:
    """The label alone, no link: nothing is written anywhere."""
    fake.add_issue(1, 42, title="Unrelated", labels=[LABEL])["issue_type"] = "issue"
    writes = len(fake.writes())
    assert issue_hook(fake, 42, "label-2", previous=[]) == "applied: follow-up tracked"
    assert len(fake.writes()) == writes


def test_redelivered_and_reordered_hooks_change_nothing_twice(fake, runtime, indexed: Store) -> None:
    """The close delivered twice, then an older reassignment hook arriving late: the list is edited once, and the
    index keeps what GitLab says now (each hook reads the issue afresh; an older reading never wins)."""
    issue = declare_with_follow_up(fake)
    issue.update(state="closed", closed_at="2026-12-02T15:00:00Z", updated_at="2026-12-02T15:00:00Z")
    issue_hook(fake, issue["iid"], "close-1")
    edits = [c for c in fake.writes() if c.method == "PUT" and "/notes/" in c.path]
    issue_hook(fake, issue["iid"], "close-1-again")
    issue_hook(fake, issue["iid"], "assign-older")  # an earlier change's hook, delivered last
    assert [c for c in fake.writes() if c.method == "PUT" and "/notes/" in c.path] == edits
    (row,) = of_incident(indexed.engine, 1, 23)
    assert (row.state, row.owner) == ("closed", "bob")


def test_removing_the_label_drops_the_follow_up_from_the_list(fake, runtime, indexed: Store) -> None:
    """The label removed by hand: the index forgets it, and the list note says none is left."""
    issue = declare_with_follow_up(fake)
    issue["labels"] = []
    issue["updated_at"] = "2026-12-03T09:00:00Z"
    assert issue_hook(fake, issue["iid"], "unlabel-1", previous=[LABEL]) == "applied: follow-up tracked"
    assert of_incident(indexed.engine, 1, 23) == []
    assert "0 of 0 done" in list_note(fake) and "Add a circuit breaker" not in list_note(fake)


def test_the_review_shows_the_same_list_and_closing_the_incident_keeps_tracking(fake, runtime, indexed: Store) -> None:
    """Severity 2 resolved: the review opens; a follow-up asked then is listed on the incident and the review alike,
    and its close (the incident closed) still ticks both."""
    labels = ["incident", "severity::2", "incident::identification"]
    fake.issues[(1, 23)]["labels"] = list(labels)
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")
    fake.issues[(1, 23)]["state"] = "closed"
    assert process_delivery(body("issue.close.incident"), {"delivery_id": "close-23"}).startswith("applied")
    review = [i for i in fake.issues.values() if i["iid"] != 23 and "post-incident-review" in i["labels"]]
    assert review, "no review opened"
    comment("@incident-bot follow-up Add a canary stage @bob", key="c1")
    (issue,) = follow_up_issues(fake)
    assert "Add a canary stage" in list_note(fake, 23) and list_note(fake, 23) == list_note(fake, review[0]["iid"])
    issue.update(state="closed", closed_at="2026-12-02T15:00:00Z", updated_at="2026-12-02T15:00:00Z")
    issue_hook(fake, issue["iid"], "close-f")
    assert "- [x] " in list_note(fake, 23) and "- [x] " in list_note(fake, review[0]["iid"])
