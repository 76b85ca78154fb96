"""An overdue reminder already in GitLab is not posted again when its Redis marker and index count were never written
(issue 20's audit): the worker killed right after the comment, or GitLab wrote it but its answer was lost. Before a
reminder is posted the bot's newest comments on the follow-up's issue are read (one page) for its hidden marker.

Through the overdue pass (`incident-bot follow-ups --check`) against the fake GitLab and the index (SQLite and
PostgreSQL).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis

import service.ops.overdue_marks as marks
from service.ops.overdue import check_now
from service.store import Store
from service.store.corrective import of_incident
from tests.followups import at, comment, declare_severity_1

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time


def test_a_reminder_posted_before_the_worker_died_is_not_posted_again(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Due 2026-12-01: the pass posts the reminder and dies before recording it; the next pass that hour finds the
    reminder's marker among the bot's comments, posts nothing and records it (a third pass posts nothing
    more); a week later the second reminder is posted."""
    declare_severity_1(fake)
    issue = fake.add_issue(1, 40, title="Harden the login", issue_type="issue")
    issue.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    comment("@incident-bot follow-up #40", key="c1")

    def killed(*args: object) -> None:
        raise RuntimeError("the worker was killed right after the comment")

    with monkeypatch.context() as patched:
        patched.setattr(marks, "posted", killed)  # what records the reminder, right after its comment
        check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-01"))
    assert len(fake.bot_notes(1, 40)) == 1
    for hour in (1, 2):
        check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-01") + timedelta(hours=hour))
        assert len(fake.bot_notes(1, 40)) == 1, "the same overdue reminder was posted twice"
    assert [r.reminded for r in of_incident(indexed.engine, 1, 23)] == [1]
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-08"))
    assert len(fake.bot_notes(1, 40)) == 2
