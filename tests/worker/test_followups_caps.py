"""The work a follow-up's links cause in a worker job is bounded (issue 20's audit): people who can link issues decide
how many there are. The index catch-up (after a delivery's index write, or the worker's maintenance) reads at most
`reindex_followups.CATCH_UP` of an incident's follow-ups and reviews and two pages of each follow-up's comments; the
tracking of a follow-up's issue asks at most `corrective_track.LINKS_READ` linked issues for their incident; a
follow-up is linked to, and its list kept in, at most `CATCH_UP.reviews` reviews linked by hand. Each cut is logged.
Through the real catch-up and delivery job against the fake GitLab and the index (SQLite and PostgreSQL).
"""

from __future__ import annotations

import logging

import pytest
from redis import Redis

from service.gitlab.history import GitLabHistory
from service.store import Store, open_store, pending
from service.store.corrective import of_incident
from service.store.reindex_followups import CATCH_UP
from service.worker.corrective_track import LINKS_READ
from service.worker.index import DeliveryIndex
from tests.fakegitlab import BOT
from tests.followups import LABEL, comment, declare_severity_1, follow_up_issues, issue_hook

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

REVIEW_LABEL = "post-incident-review"  # the shipped rules' settings.review_labels


def gets(fake, pattern: str) -> list[str]:
    """The GET requests the fake answered whose path ends with `pattern`."""
    return [c.path for c in fake.calls if c.method == "GET" and c.path.endswith(pattern)]


def catch_up_of_23(runtime, settings, rules, redis_conn: Redis, database_url: str) -> int:
    """Incident 1#23 waiting for a catch-up, which the worker's index then runs (as its maintenance pass does)."""
    runtime.index = DeliveryIndex(
        lambda: open_store(database_url),
        redis_conn,
        lambda: GitLabHistory(settings.gitlab_url, "token"),
        settings.queue_name,
    )
    pending.add(redis_conn, settings.queue_name, 1, 23)
    return runtime.index.catch_up(rules, BOT["username"])


def test_the_catch_up_reads_at_most_its_caps_of_follow_ups_reviews_and_comments(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store, database_url: str, caplog
) -> None:
    """More follow-ups and reviews linked by hand than the caps, and a follow-up with 450 comments: the catch-up keeps
    50 follow-ups, reads the links of 5 reviews and two pages of the long follow-up's comments, and says so."""
    declare_severity_1(fake)
    assert CATCH_UP.follow_ups is not None and CATCH_UP.reviews is not None
    follow_ups = range(100, 100 + CATCH_UP.follow_ups + 5)
    for iid in follow_ups:
        fake.add_issue(1, iid, title=f"Fix {iid}", labels=[LABEL], issue_type="issue")
        fake.link((1, iid), (1, 23))
    for n in range(450):
        fake.add_note((1, 100), f"Progress {n}", "bob")
    for iid in range(300, 300 + CATCH_UP.reviews + 3):
        fake.add_issue(1, iid, title="Review", labels=[REVIEW_LABEL], issue_type="issue")
        fake.link((1, iid), (1, 23))
    fake.calls.clear()
    with caplog.at_level(logging.WARNING):
        assert catch_up_of_23(runtime, settings, rules, redis_conn, database_url) == 1
    assert len(of_incident(indexed.engine, 1, 23)) == CATCH_UP.follow_ups
    review_links = [p for p in gets(fake, "/links") if p.startswith("/projects/1/issues/3")]
    assert len(review_links) == CATCH_UP.reviews
    assert len(gets(fake, "/projects/1/issues/100/notes")) == CATCH_UP.note_pages
    said = caplog.text
    assert f"only the first {CATCH_UP.follow_ups} read" in said and f"only the first {CATCH_UP.reviews} read" in said


def test_the_tracking_asks_at_most_its_cap_of_linked_issues_for_their_incident(
    fake, runtime, indexed: Store, caplog
) -> None:
    """An issue given the follow-up label, linked to more issues with the review label than the cap and to no
    incident: the tracking asks LINKS_READ of them for their links, says so, and adopts nothing."""
    declare_severity_1(fake)
    fake.add_issue(1, 41, title="Document the failover", labels=[LABEL], issue_type="issue")
    for iid in range(200, 200 + LINKS_READ + 10):
        fake.add_issue(1, iid, title="Not a review of anything", labels=[REVIEW_LABEL], issue_type="issue")
        fake.link((1, 41), (1, iid))
    fake.calls.clear()
    with caplog.at_level(logging.WARNING):
        issue_hook(fake, 41, "label-1", previous=[])
    assert len(gets(fake, "/links")) == 1 + LINKS_READ
    assert f"only the first {LINKS_READ} read" in caplog.text
    assert of_incident(indexed.engine, 1, 23) == []


def test_a_follow_up_reaches_at_most_the_cap_of_reviews_linked_by_hand(fake, runtime, indexed: Store, caplog) -> None:
    """Three more reviews linked by hand than the cap: a new follow-up is linked to, and its Follow-ups list written
    in, the first CATCH_UP.reviews of them only; closing it edits no more; each cut is said."""
    declare_severity_1(fake)
    assert CATCH_UP.reviews is not None
    reviews = range(300, 300 + CATCH_UP.reviews + 3)
    for iid in reviews:
        fake.add_issue(1, iid, title="Review", labels=[REVIEW_LABEL], issue_type="issue")
        fake.link((1, iid), (1, 23))
    with caplog.at_level(logging.WARNING):
        comment("@incident-bot follow-up Add a circuit breaker @bob", key="c1")
    (issue,) = follow_up_issues(fake)
    key = (issue["project_id"], issue["iid"])
    linked = [iid for iid in reviews if key in fake.links.get((1, iid), [])]
    listed = [iid for iid in reviews if any("incident-bot:follow-ups" in n["body"] for n in fake.bot_notes(1, iid))]
    assert linked == listed == list(reviews)[: CATCH_UP.reviews]
    assert f"only the first {CATCH_UP.reviews}" in caplog.text
    issue.update(state="closed", closed_at="2026-12-02T15:00:00Z", updated_at="2026-12-02T15:00:00Z")
    fake.calls.clear()
    issue_hook(fake, issue["iid"], "close-1")
    touched = {c.path.split("/notes")[0] for c in fake.calls if c.path.startswith("/projects/1/issues/3")}
    assert len(touched) <= CATCH_UP.reviews
