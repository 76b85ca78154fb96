"""A review issue linked to the incident by hand gets the "Follow-ups" checklist too, kept in place like the incident's.

Through the real delivery job against the fake GitLab and the index (SQLite and PostgreSQL): a person opens the
review, gives it the review label and links it to the incident; the bot learns it is the review when a follow-up
comes through it or through the incident's links, keeps that in the index, and writes the list on both from then on.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.ops.overdue import check_now
from service.store import Store
from service.store.corrective import of_incident
from service.worker import process_delivery
from tests.conftest import body
from tests.fakegitlab import FakeGitLab
from tests.followups import LABEL, comment, follow_up_issues, issue_hook, list_note

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

REVIEW_LABEL = "post-incident-review"  # the shipped rules' settings.review_labels


def declare_and_link_review(fake: FakeGitLab, iid: int = 30, labels: tuple[str, ...] = (REVIEW_LABEL,)) -> None:
    """Incident 1#23 declared (severity 3: the bot opens no review); a person opens 1#`iid` and links it."""
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")
    fake.add_issue(1, iid, title="Review of #23", labels=list(labels), issue_type="issue")
    fake.link((1, iid), (1, 23))


def test_a_follow_up_asked_in_a_review_linked_by_hand_is_listed_there_too(fake, runtime, indexed: Store) -> None:
    """`follow-up` in the hand-linked review: the review shows the same list as the incident, and the follow-up's
    close ticks it on both, each in its one note."""
    declare_and_link_review(fake)
    comment("@incident-bot follow-up Add a canary stage @alice", iid=30, incident=False, labels=(REVIEW_LABEL,))
    (issue,) = follow_up_issues(fake)
    assert "Add a canary stage" in list_note(fake, 30) and list_note(fake, 30) == list_note(fake, 23)
    issue.update(state="closed", closed_at="2026-12-02T15:00:00Z", updated_at="2026-12-02T15:00:00Z")
    assert issue_hook(fake, issue["iid"], "close-f") == "applied: follow-up tracked"
    assert "- [x] " in list_note(fake, 30) and list_note(fake, 30) == list_note(fake, 23)


def test_a_follow_up_asked_in_the_incident_reaches_a_review_linked_by_hand(fake, runtime, indexed: Store) -> None:
    """The review linked by hand, the follow-up asked in the incident: the incident's links name the review."""
    declare_and_link_review(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    assert "Add a circuit breaker" in list_note(fake, 30) and list_note(fake, 30) == list_note(fake, 23)


def test_a_follow_up_linked_to_the_review_by_hand_is_listed_on_both(fake, runtime, indexed: Store) -> None:
    """An issue given the label and linked to the hand-linked review only: adopted for the incident, listed on both."""
    declare_and_link_review(fake)
    fake.add_issue(1, 41, title="Document the failover", labels=[LABEL], issue_type="issue")
    fake.link((1, 41), (1, 30))
    assert issue_hook(fake, 41, "label-1", previous=[]) == "applied: follow-up tracked"
    assert [r.iid for r in of_incident(indexed.engine, 1, 23)] == [41]
    assert "Document the failover" in list_note(fake, 30) and list_note(fake, 30) == list_note(fake, 23)


def test_a_linked_issue_without_the_review_label_gets_no_list(fake, runtime, indexed: Store) -> None:
    """A related issue linked to the incident is no review: the bot writes nothing there."""
    declare_and_link_review(fake, iid=31, labels=())
    comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    assert "Add a circuit breaker" in list_note(fake, 23) and list_note(fake, 31) == ""


def test_a_follow_up_without_owner_is_named_in_the_review_linked_by_hand(
    fake, runtime, settings, rules, redis_conn, indexed: Store
) -> None:
    """No owner, a review linked by hand: the overdue pass names it in that review a week on, not in the incident."""
    declare_and_link_review(fake)
    comment("@incident-bot follow-up Alert on queue depth", iid=30, incident=False, labels=(REVIEW_LABEL,))
    check_now(settings, rules, redis_conn, store=indexed, now=datetime(2026, 12, 5, 10, tzinfo=UTC))
    named = {
        iid: [n for n in fake.bot_notes(1, iid) if "no owner yet" in n["body"] and "assign each" in n["body"]]
        for iid in (23, 30)
    }
    assert len(named[30]) == 1 and "Alert on queue depth" in named[30][0]["body"] and named[23] == []


def test_a_follow_up_is_linked_to_the_review_linked_by_hand_and_names_it(fake, runtime, indexed: Store) -> None:
    """Asked in the incident: the new issue is linked to the incident and to its review (linked by hand, kept in
    the index), and its description names both."""
    declare_and_link_review(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    (issue,) = follow_up_issues(fake)
    assert {(1, 23), (1, 30)} <= set(fake.links[(1, issue["iid"])])
    assert "incident [#23](" in issue["description"] and "review [#30](" in issue["description"]


def test_a_follow_up_is_linked_to_the_review_the_bot_opened(fake, runtime, indexed: Store) -> None:
    """Severity 2 resolved: the bot opened the review; a follow-up asked in the incident is linked to it and names
    it."""
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::2", "incident::identification"]
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")
    fake.issues[(1, 23)]["state"] = "closed"
    assert process_delivery(body("issue.close.incident"), {"delivery_id": "close-23"}).startswith("applied")
    (review,) = [i for _, i in sorted(fake.issues.items()) if REVIEW_LABEL in i["labels"]]
    comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    (issue,) = follow_up_issues(fake)
    assert (1, review["iid"]) in fake.links[(1, issue["iid"])]
    assert f"review [#{review['iid']}](" in issue["description"]
