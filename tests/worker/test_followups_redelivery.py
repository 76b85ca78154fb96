"""A `follow-up` command delivered again (GitLab's redelivery, or RQ's retry of a job that failed half-way) opens
one follow-up, never two: through the real delivery job against the fake GitLab and the index."""

from __future__ import annotations

import pytest

from service.gitlab import TransientGitLabError
from service.store import Store
from service.store.corrective import of_incident
from service.worker import process_delivery
from tests.conftest import body
from tests.followups import comment, follow_up_issues, list_note

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

ASK = "@incident-bot follow-up Add a circuit breaker @bob"


def declare() -> None:
    assert process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"}).startswith("applied")


def test_a_command_delivered_twice_opens_one_follow_up(fake, runtime, indexed: Store) -> None:
    """The same comment delivered twice: one issue, one row, one list note listing it once."""
    declare()
    comment(ASK, key="c1")
    comment(ASK, key="c1")
    assert len(follow_up_issues(fake)) == 1
    assert len(of_incident(indexed.engine, 1, 23)) == 1
    assert list_note(fake).count("Add a circuit breaker") == 1


def test_a_retry_after_the_link_failed_opens_no_second_issue(fake, runtime, indexed: Store) -> None:
    """The issue opened, then linking it to the incident fails (GitLab 502 beyond the session's retries): the job
    fails; its retry finds the issue it opened and links that one instead of opening another."""
    declare()
    fake.fail("POST", r"/projects/1/issues/23/links", 502, times=4)
    with pytest.raises(TransientGitLabError):
        comment(ASK, key="c1")
    comment(ASK, key="c1")
    (issue,) = follow_up_issues(fake)
    assert (1, issue["iid"]) in fake.links[(1, 23)]
    assert [r.iid for r in of_incident(indexed.engine, 1, 23)] == [issue["iid"]]
