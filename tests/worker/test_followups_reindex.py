"""The follow-ups' index is derivable from GitLab alone (issue 20): with the index wiped and the overdue pass's Redis
markers lost, reindex rebuilds the reminders already posted from the bot's own reminder comments, so none is posted
twice and the next one comes on time."""

from __future__ import annotations

from datetime import datetime

import pytest
from redis import Redis

from service.gitlab.history import GitLabHistory
from service.ops.overdue import check_now
from service.store import Store
from service.store.corrective import find
from service.store.engine import migrate
from service.store.reindex import reindex
from tests.followups import at, comment, declare_severity_1, follow_up_issues
from tests.indexdb import empty_database

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

FORGED = "<!-- incident-bot:follow-up-reminder overdue 9 -->"  # what a person could paste: never read


def overdue_notes(fake, iid: int) -> list[str]:
    """The bot's comments on follow-up 1#`iid`."""
    return [n["body"] for n in fake.bot_notes(1, iid)]


def lose_everything(settings, indexed: Store, redis_conn: Redis, database_url: str, iid: int) -> None:
    """The index dropped (migrated again, empty) and the overdue pass's Redis markers of follow-up 1#`iid` gone."""
    empty_database(database_url)
    migrate(indexed.engine)
    assert find(indexed.engine, 1, iid) is None
    pattern = settings.keys.follow_up_reminded(1, iid, "*")
    gone = list(redis_conn.scan_iter(match=pattern))
    assert gone  # the markers the passes set
    redis_conn.delete(*gone)


def test_reindex_rebuilds_the_reminders_posted_so_none_is_posted_twice(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store, database_url: str
) -> None:
    """Due 2026-12-01, reminded on the day, a week on and at 14 days (naming the incident manager); a person pastes a
    marker of reminder 9 in the issue. Index and Redis markers lost, reindex: `reminded` is 3 (the bot's comments
    only), a pass at the same moment posts nothing, a week later exactly the fourth (naming the manager)."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    iid = issue["iid"]

    def run(moment: datetime) -> None:
        check_now(settings, rules, redis_conn, store=indexed, now=moment)

    for day in ("2026-12-01", "2026-12-08", "2026-12-15"):
        run(at(day))
    posted = overdue_notes(fake, iid)
    assert len(posted) == 3 and "@im-alice" in posted[-1]
    fake.add_note((1, iid), f"Pasting what I saw: {FORGED}", "bob")

    lose_everything(settings, indexed, redis_conn, database_url, iid)
    done = reindex(indexed, GitLabHistory(settings.gitlab_url, "token"), indexed.vocab, now=at("2026-12-15"))
    assert done.follow_ups == 1
    row = find(indexed.engine, 1, iid)
    assert row is not None and row.reminded == 3 and (row.incident_project_id, row.incident_iid) == (1, 23)

    run(at("2026-12-15"))
    run(at("2026-12-15").replace(hour=11))
    assert overdue_notes(fake, iid) == posted
    run(at("2026-12-22"))
    (fourth,) = overdue_notes(fake, iid)[3:]
    assert "21 days overdue" in fourth and "@bob" in fourth and "@im-alice" in fourth
    run(at("2026-12-22").replace(hour=12))
    assert len(overdue_notes(fake, iid)) == 4


def test_a_reindex_that_finds_fewer_markers_lowers_no_count(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """The index knows more reminders than the comments mark (the newest deleted by hand): reindex keeps the index's
    count, never lowers it."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    iid = issue["iid"]
    for day in ("2026-12-01", "2026-12-08"):
        check_now(settings, rules, redis_conn, store=indexed, now=at(day))
    fake.notes[(1, iid)].pop()  # the second reminder: the first's marker says 1
    reindex(indexed, GitLabHistory(settings.gitlab_url, "token"), indexed.vocab, now=at("2026-12-08"))
    row = find(indexed.engine, 1, iid)
    assert row is not None and row.reminded == 2


def test_no_owner_notes_are_not_repeated_once_redis_and_the_index_are_lost(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store, database_url: str
) -> None:
    """No owner: named in the incident a week and two weeks after its opening; a person pastes the marker of note 9
    of it. Index and Redis markers lost, reindex: a pass in the same week names it no more (the bot's marker read
    back from GitLab), the next week exactly once more."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Alert on queue depth", key="c1")
    (issue,) = follow_up_issues(fake)
    named = lambda: [n["body"] for n in fake.bot_notes(1, 23) if "assign each" in n["body"]]  # noqa: E731
    for day in ("2026-12-04", "2026-12-11"):
        check_now(settings, rules, redis_conn, store=indexed, now=at(day))
    assert len(named()) == 2
    forged = f"<!-- incident-bot:follow-up-reminder unowned 1 {issue['iid']} 9 -->"
    fake.add_note((1, 23), f"Pasting what I saw: {forged}", "bob")

    lose_everything(settings, indexed, redis_conn, database_url, issue["iid"])
    reindex(indexed, GitLabHistory(settings.gitlab_url, "token"), indexed.vocab, now=at("2026-12-11"))
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-11"))
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-12"))
    assert len(named()) == 2
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-18"))
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-18").replace(hour=12))
    assert len(named()) == 3 and "Alert on queue depth" in named()[-1]
