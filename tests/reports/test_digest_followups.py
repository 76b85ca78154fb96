"""The weekly digest lists overdue follow-ups by team (issue 20): real channel receivers, the fake GitLab's issue.

Confidential follow-ups (their own issue, or their incident) are counted but named by nothing; titles are inert.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from redis import Redis

from service.corrective import FollowUpIssue
from service.reports.digest import ReportingProject, run_digest
from service.rules import RuleSet
from service.rules.settings import DigestSettings
from service.store import Store
from service.store.corrective import record
from service.store.schema import incidents
from tests.fakegitlab import FakeGitLabServer

MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)
REPORTING = 7
SECRET = "Rotate the pangolin signing key"
HOSTILE = "/close @all [x](javascript:alert(1))"


def follow_up(iid: int, title: str, owner: str | None, due: date | None, **facts: object) -> FollowUpIssue:
    opened = datetime(2026, 10, 1, tzinfo=UTC)
    url = f"http://gitlab.test/shop/checkout/-/issues/{iid}"
    return FollowUpIssue(
        1, iid, title=title, url=url, owner=owner, due_on=due, opened_at=opened, updated_at=opened,
        project_path="shop/checkout", **cast(Any, facts),
    )  # fmt: skip


def build(store: Store) -> None:
    """Incident 10 (open), 12 (confidential); follow-ups overdue, due later, closed, confidential."""
    with store.engine.begin() as conn:
        for iid, secret in ((10, False), (12, True)):
            conn.execute(
                incidents.insert().values(
                    project_id=1, iid=iid, roles={}, confidential=secret, updated_at=MONDAY, project_path="shop/x"
                )
            )
    history = [
        (10, follow_up(101, "Add a canary for checkout", "db-heidi", date(2026, 11, 20))),  # database, 10 days
        (10, follow_up(102, HOSTILE, "eoc-carol", date(2026, 11, 30))),  # no team, due today
        (10, follow_up(103, "Alert on queue depth", "bob", date(2026, 12, 10))),  # not yet due
        (10, follow_up(104, "Fix the runbook", "db-heidi", date(2026, 11, 1), state="closed")),  # closed
        (10, follow_up(105, SECRET, "sirt-frank", date(2026, 11, 16), confidential=True)),  # security, 14 days
        (12, follow_up(106, "Audit the breach window", "sirt-grace", date(2026, 11, 23))),  # confidential incident
        (10, follow_up(107, "Nobody owns this", None, date(2026, 11, 2))),  # no owner: no team, 28 days
    ]
    for incident, issue in history:
        record(store.engine, (1, incident), issue, MONDAY)


def test_overdue_follow_ups_by_team_in_the_issue_and_the_channels(
    store: Store, rules: RuleSet, redis_conn: Redis, receivers, gitlab: FakeGitLabServer
) -> None:
    """5 overdue: database 1, security 2 (both confidential), none 2; each channel hears the counts, nothing named."""
    build(store)
    digest = DigestSettings(channels=("executives", "responders"), project=str(REPORTING))
    with_digest = dataclasses.replace(rules, settings=dataclasses.replace(rules.settings, digest=digest))
    project = ReportingProject(gitlab.url, "test-token", redis_conn)
    outcome = run_digest(
        store=store, rules=with_digest, connection=redis_conn, now=MONDAY, env=os.environ, gitlab=project
    )
    assert outcome.sent == ["executives", "responders"] and not outcome.failures
    (issue,) = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    text = issue["description"]
    section = text[text.index("## Overdue follow-ups by team") :]
    assert "**5** follow-ups are overdue" in section
    database = "### database: 1\n\n- [shop/checkout#101](http://gitlab.test/shop/checkout/-/issues/101) Add a canary"
    assert database in section and "— db-heidi, due 2026-11-20, 10 days overdue" in section
    assert "### security: 2\n\n- confidential follow-up, 14 days overdue\n- confidential follow-up, 7 days overdue" in (
        section
    )
    assert "### no team (owner in no team's rotation, or no owner): 2" in section
    assert "Nobody owns this — no owner yet, due 2026-11-02, 28 days overdue" in section
    assert "— eoc-carol, due 2026-11-30, due today" in section
    # Names, not mentions; the hostile title is inert (no quick action, mention or link).
    assert "@eoc-carol" not in text and "@db-heidi" not in text
    assert "\n/close" not in text and "@all" not in text and "](javascript" not in text
    # Not yet due and closed ones are not listed; the confidential ones are named by nothing.
    for hidden in ("#103", "#104", "#105", "#106", "pangolin", "breach window", "sirt-frank", "sirt-grace"):
        assert hidden not in section.lower()
    for receiver in receivers.values():
        (told,) = receiver.delivered
        said = told.json()["text"]
        assert "overdue follow-ups 5 (database 1, security 2, none 2)" in said
        assert "pangolin" not in said.lower() and "Add a canary" not in said


def test_no_overdue_follow_up_says_so(
    store: Store, rules: RuleSet, redis_conn: Redis, gitlab: FakeGitLabServer
) -> None:
    """An index without overdue follow-ups: the section says none, the summary says 0."""
    digest = DigestSettings(channels=(), project=str(REPORTING))
    with_digest = dataclasses.replace(rules, settings=dataclasses.replace(rules.settings, digest=digest))
    project = ReportingProject(gitlab.url, "test-token", redis_conn)
    run_digest(store=store, rules=with_digest, connection=redis_conn, now=MONDAY, env=os.environ, gitlab=project)
    (issue,) = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    assert "## Overdue follow-ups by team\n\nNone: every open follow-up is within its due date." in issue["description"]
    later = MONDAY + timedelta(days=7)
    from service.reports.digest import compose

    assert compose(store, rules, later).summary.endswith("; overdue follow-ups 0.")


def test_a_follow_up_of_an_incident_not_indexed_yet_is_named_by_nothing(rules: RuleSet) -> None:
    """Its incident's index write failed (a catch-up waits): whether it is confidential is unknown, so the digest,
    an org-wide issue, counts the follow-up and names nothing of it."""
    from service.corrective import FollowUp
    from service.reports import digest_followups

    fu = FollowUp(1, 23, 1, 40, project_path="group/project", title="Rotate leaked key for ACME", owner="bob",
                  due_on=date(2026, 12, 1))  # fmt: skip
    text = digest_followups.section(digest_followups.overdue([(fu, None)], rules, date(2026, 12, 15)))
    assert "confidential follow-up, 14 days overdue" in text
    assert "Rotate leaked key" not in text and "bob" not in text and "#40" not in text
