"""The `follow-up` command through the real delivery job, the fake GitLab and the index (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest

from service.store import Store
from service.store.corrective import of_incident
from service.worker import process_delivery
from tests.conftest import body
from tests.followups import LABEL, comment, follow_up_issues, last_reply, list_note, live, open_incident

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time


def declare() -> None:
    """Incident 1#23 opened and declared by the bot (severity 3 by default)."""
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")


def test_a_follow_up_is_opened_assigned_dated_linked_and_listed(fake, runtime, indexed: Store) -> None:
    """`follow-up <title> @bob due 2026-12-20`: an issue with the label, bob assigned, the date, linked; the reply
    names it, the index keeps it, and the incident's Follow-ups list shows it."""
    declare()
    comment("@incident-bot follow-up Add a circuit breaker to checkout @bob due 2026-12-20", key="c1")
    (issue,) = follow_up_issues(fake)
    assert issue["title"] == "Add a circuit breaker to checkout"
    assert [a["username"] for a in issue["assignees"]] == ["bob"] and issue["due_date"] == "2026-12-20"
    assert (1, issue["iid"]) in fake.links[(1, 23)]
    reply = last_reply(fake)
    assert f"group/project#{issue['iid']}" in reply and "@bob" in reply and "due 2026-12-20" in reply
    (row,) = of_incident(indexed.engine, 1, 23)
    assert (row.iid, row.owner, row.due_on, row.state) == (issue["iid"], "bob", date(2026, 12, 20), "opened")
    assert "- [ ] " in list_note(fake) and "Add a circuit breaker" in list_note(fake)


def test_without_owner_or_date_the_rules_date_it_and_the_reply_says_no_owner(fake, runtime, indexed: Store) -> None:
    """Severity 3: due 60 days after opening (the rules' default); no owner yet, said so."""
    declare()
    comment("@incident-bot follow-up Alert on queue depth", key="c1")
    (issue,) = follow_up_issues(fake)
    assert issue["assignees"] == [] and issue["due_date"] == "2027-01-26"  # NOW 2026-11-27 + 60 days
    assert "no owner yet" in last_reply(fake)


def test_a_hostile_title_mentions_references_and_links_nothing(fake, runtime, indexed: Store) -> None:
    """`@all`, a group, `#12`, `!3`, `&4` and a URL in the title: the issue GitLab gets, the reply and the list show
    the words but none is live (nobody pinged, no cross-reference made, no link)."""
    declare()
    title = "Fix @all and @group/ops, see #12 !3 &4 group/other#7 https://evil.example www.evil.example"
    comment(f"@incident-bot follow-up {title} @bob due 2026-12-20", key="c1")
    (issue,) = follow_up_issues(fake)
    assert live(issue["title"]) == [] and issue["title"].replace("\u2060", "") == title
    assert live(last_reply(fake).replace("@bob", "bob")) == [] and "@bob" in last_reply(fake)  # the owner's own
    assert live(list_note(fake).replace("@bob", "bob")) == [] and "see #" in list_note(fake)


def test_an_existing_issue_is_adopted_and_an_unknown_one_explained(fake, runtime, indexed: Store) -> None:
    """`follow-up #40` labels and links 1#40 and dates it; `follow-up group/other#999` says it cannot be found."""
    declare()
    fake.add_issue(1, 40, title="Rotate the API keys")["issue_type"] = "issue"
    comment("@incident-bot follow-up #40", key="c1")
    assert LABEL in fake.labels(1, 40) and (1, 40) in fake.links[(1, 23)]
    assert "adopted" in last_reply(fake) and fake.issues[(1, 40)]["due_date"] == "2027-01-26"
    comment("@incident-bot follow-up group/other#999", key="c2")
    assert "cannot find issue `group/other#\u2060999`" in last_reply(fake)  # typed, found nowhere: no live reference
    assert [r.iid for r in of_incident(indexed.engine, 1, 23)] == [40]


def test_a_reporter_is_refused_and_nothing_is_opened(fake, runtime, indexed: Store) -> None:
    """mallory (no Developer access) asks: the polite refusal, no issue, nothing in the index."""
    declare()
    comment("@incident-bot follow-up Delete production", user="mallory", uid=13, key="c1")
    assert follow_up_issues(fake) == [] and "only project members" in last_reply(fake)
    assert of_incident(indexed.engine, 1, 23) == []


def test_asked_in_the_review_it_follows_up_the_reviews_incident(fake, runtime, indexed: Store) -> None:
    """The review issue (linked to the incident, no incident itself): the follow-up belongs to the incident."""
    declare()
    review = fake.add_issue(1, 30, title="Review of #23", labels=["post-incident-review"])
    review["issue_type"] = "issue"
    fake.links.setdefault((1, 23), []).append((1, 30))
    fake.links.setdefault((1, 30), []).append((1, 23))
    comment("@incident-bot follow-up Add a canary stage @alice", iid=30, incident=False, key="r1")
    (issue,) = follow_up_issues(fake)
    assert (1, issue["iid"]) in fake.links[(1, 23)]
    assert "Add a canary stage" in last_reply(fake, 30)
    assert [r.owner for r in of_incident(indexed.engine, 1, 23)] == ["alice"]


def test_the_next_incident_in_the_area_is_told_of_open_corrective_actions(fake, runtime, indexed: Store) -> None:
    """1#23 (availability) has an open follow-up: declaring 1#24 (availability) lists it; 1#25 (security) does not."""
    open_incident(fake, 23, ["incident", "incident-category::availability"])
    comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    open_incident(fake, 24, ["incident", "incident-category::availability"])
    declaration = "\n".join(n["body"] for n in fake.bot_notes(1, 24))
    assert "Open corrective actions in this area" in declaration and "Add a circuit breaker" in declaration
    assert "category availability" in declaration and "from incident #23" in declaration
    open_incident(fake, 25, ["incident", "incident-category::security"])
    assert "Open corrective actions" not in "\n".join(n["body"] for n in fake.bot_notes(1, 25))
