"""Which reviews linked by hand get an incident's "Follow-ups" checklist and "no owner yet" notes: only one in the
incident's project and, for a confidential incident, only a confidential one (issue 20's audit).

A review that does not qualify is not adopted as the incident's review: nothing of the incident's follow-ups is
written there. Through the real delivery job and the overdue pass against the fake GitLab and the index (SQLite and
PostgreSQL).
"""

from __future__ import annotations

import pytest
from redis import Redis

from service.gitlab.history import GitLabHistory
from service.ops.overdue import check_now
from service.store import Store
from service.store.engine import migrate
from service.store.observe import vocabulary
from service.store.reindex import reindex
from service.store.reviews import record_reviews, reviews_of
from tests.fakegitlab import BOT
from tests.followups import at, comment, declare_severity_1, follow_up_issues, list_note, written
from tests.indexdb import empty_database

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

REVIEW_LABEL = "post-incident-review"  # the shipped rules' settings.review_labels
SECRET = "Rotate the leaked key"


def link_review(fake, key: tuple[int, int] = (1, 30), *, confidential: bool = False, path: str = "group/project"):
    """A person opens a review issue at `key` (public unless `confidential`) and links it to incident 1#23."""
    secret = confidential
    fake.add_issue(*key, title="Review", labels=[REVIEW_LABEL], issue_type="issue", confidential=secret, path=path)
    fake.link(key, (1, 23))


def test_a_public_review_of_a_confidential_incident_gets_no_checklist(fake, runtime, indexed: Store) -> None:
    """A confidential incident's follow-ups are named in no public review linked by hand: neither one asked in the
    incident nor the list after a follow-up asked in that review itself; the incident keeps its list."""
    declare_severity_1(fake, confidential=True)
    link_review(fake)
    comment(f"@incident-bot follow-up {SECRET} @bob", key="c1")
    comment("@incident-bot follow-up Add an alert @bob", iid=30, incident=False, labels=(REVIEW_LABEL,))
    assert len(follow_up_issues(fake)) == 2 and all(i["confidential"] for i in follow_up_issues(fake))
    assert SECRET not in written(fake, 1, 30) and list_note(fake, 30) == ""
    assert SECRET in list_note(fake, 23) and reviews_of(indexed.engine, (1, 23)) == []


def test_a_confidential_review_of_a_confidential_incident_gets_the_checklist(fake, runtime, indexed: Store) -> None:
    """The same review, confidential: it is the incident's review and shows the incident's list."""
    declare_severity_1(fake, confidential=True)
    link_review(fake, confidential=True)
    comment(f"@incident-bot follow-up {SECRET} @bob", key="c1")
    assert SECRET in list_note(fake, 30) and list_note(fake, 30) == list_note(fake, 23)


def test_a_review_in_another_project_gets_no_checklist(fake, runtime, indexed: Store) -> None:
    """A review label on an issue of another project linked to the incident: not its review, nothing written."""
    declare_severity_1(fake)
    link_review(fake, (2, 30), path="group/other")
    comment(f"@incident-bot follow-up {SECRET} @bob", key="c1")
    assert fake.bot_notes(2, 30) == [] and SECRET in list_note(fake, 23)
    assert reviews_of(indexed.engine, (1, 23)) == []


def test_no_owner_notes_of_a_confidential_incident_skip_a_public_review(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """A public review the index kept as the incident's (learnt before this check): neither the list, refreshed by
    the next follow-up, nor the weekly "no owner yet" note is written there; the note goes to the incident."""
    declare_severity_1(fake, confidential=True)
    link_review(fake)
    record_reviews(indexed.engine, (1, 23), [(1, 30)], at("2026-11-27"))  # as an older bot learnt it
    comment(f"@incident-bot follow-up {SECRET}", key="c1")
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-05"))
    assert SECRET not in written(fake, 1, 30)
    assert any("no owner" in n["body"].lower() and SECRET in n["body"] for n in fake.bot_notes(1, 23))


def test_reindex_keeps_only_the_reviews_that_may_show_the_list(
    fake, runtime, settings, rules, indexed: Store, database_url: str
) -> None:
    """A confidential incident linked by hand to a public review, a review in another project and a confidential
    review: reindex keeps only the confidential one in its project as the incident's review."""
    declare_severity_1(fake, confidential=True)
    link_review(fake)
    link_review(fake, (2, 30), confidential=True, path="group/other")
    link_review(fake, (1, 31), confidential=True)
    empty_database(database_url)
    migrate(indexed.engine)
    vocab = vocabulary(rules, BOT["username"])  # the rules' review labels, as `incident-bot reindex` reads them
    reindex(indexed, GitLabHistory(settings.gitlab_url, "token"), vocab, now=at("2026-11-28"))
    assert reviews_of(indexed.engine, (1, 23)) == [(1, 31)]
