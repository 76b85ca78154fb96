"""A public follow-up of a confidential incident, escalated: its reminder is posted once even while the escalation
note into the incident fails, and the escalation is retried alone until it is posted, once (issue 20's audit).

Through the overdue pass (`incident-bot follow-ups --check`) against the fake GitLab and the index (SQLite and
PostgreSQL); group/other (project 2), the follow-ups' own project (`followups.project`), holds the public follow-up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis

from service.corrective import reminder_marker
from service.ops.overdue import check_now
from service.rules import RuleSet, load_rules
from service.store import Store
from service.store.corrective import set_reminded
from tests.followups import at, comment, declare_severity_1, rules_with_followups_in
from tests.rulesdir import TEST_RULES

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time


@pytest.fixture()
def rules() -> RuleSet:
    """The shipped rules, follow-ups kept in group/other: an issue there may be adopted for a confidential incident."""
    return rules_with_followups_in("group/other")


def escalations(fake) -> list[str]:
    """The bot's notes in incident 1#23 naming its manager for the follow-up."""
    return [n["body"] for n in fake.bot_notes(1, 23) if "(incident manager): the follow-up" in n["body"]]


def test_a_failing_escalation_repeats_no_reminder_and_is_retried_alone(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Due 2026-12-01 and reminded then; at 14 days overdue the escalation into the incident is refused for three
    hourly passes: the follow-up's issue gets its second reminder once, not each hour; the fourth pass posts the
    escalation, the fifth nothing."""
    declare_severity_1(fake, confidential=True)
    public = fake.add_issue(2, 40, title="Harden the login", issue_type="issue", path="group/other")
    public.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    comment("@incident-bot follow-up group/other#40", key="c1")
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-01"))
    fake.fail("POST", r"/projects/1/issues/23/notes", 403, times=3)
    for hour in range(5):
        check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-15") + timedelta(hours=hour))
        assert len(fake.bot_notes(2, 40)) == 2
        assert len(escalations(fake)) == (0 if hour < 3 else 1)
    assert "@im-alice" in escalations(fake)[0]


def test_an_escalation_is_not_repeated_once_redis_is_lost(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """The reminder and the escalation posted, then the pass's Redis markers lost: a pass in the same week posts
    neither again (the index's count and the escalation's marker in the incident read back)."""
    declare_severity_1(fake, confidential=True)
    public = fake.add_issue(2, 40, title="Harden the login", issue_type="issue", path="group/other")
    public.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    comment("@incident-bot follow-up group/other#40", key="c1")
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-15"))
    assert len(fake.bot_notes(2, 40)) == 1 and len(escalations(fake)) == 1
    redis_conn.delete(*redis_conn.scan_iter(match=settings.keys.follow_up_reminded(2, 40, "*")))
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-15") + timedelta(hours=1))
    assert len(fake.bot_notes(2, 40)) == 1 and len(escalations(fake)) == 1


def test_a_reminder_escalated_by_the_previous_release_is_not_escalated_again(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Before the upgrade, one pass at 14 days overdue posted the third reminder and, in the same breath, the
    escalation into the incident with no marker of its own, then set the reminder's Redis marker (its time alone).
    The first pass after the upgrade, that week, reads that marker's time: escalated then, nothing is posted."""
    declare_severity_1(fake, confidential=True)
    public = fake.add_issue(2, 40, title="Harden the login", issue_type="issue", path="group/other")
    public.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    comment("@incident-bot follow-up group/other#40", key="c1")
    then = at("2026-12-15")
    fake.add_note((2, 40), f"@bob: this follow-up is 14 days overdue.\n\n{reminder_marker(3)}", "incident-bot")
    old = "@im-alice (incident manager): the follow-up group/other#40 of this incident is 14 days overdue (@bob)."
    fake.add_note((1, 23), old, "incident-bot")
    redis_conn.set(settings.keys.follow_up_reminded(2, 40, "overdue-3"), then.isoformat())
    set_reminded(indexed.engine, 2, 40, 3)
    check_now(settings, rules, redis_conn, store=indexed, now=then + timedelta(hours=1))
    assert len(fake.bot_notes(2, 40)) == 1 and len(escalations(fake)) == 1


def test_a_reminder_of_the_previous_release_is_not_escalated_again_once_redis_is_lost(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """As above, but Redis was flushed since: the index still counts the third reminder posted, and the escalation
    the release before posted with it carries no marker to read back, so it is taken as done: nothing is posted."""
    declare_severity_1(fake, confidential=True)
    public = fake.add_issue(2, 40, title="Harden the login", issue_type="issue", path="group/other")
    public.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    comment("@incident-bot follow-up group/other#40", key="c1")
    then = at("2026-12-15")
    fake.add_note((2, 40), f"@bob: this follow-up is 14 days overdue.\n\n{reminder_marker(3)}", "incident-bot")
    old = "@im-alice (incident manager): the follow-up group/other#40 of this incident is 14 days overdue (@bob)."
    fake.add_note((1, 23), old, "incident-bot")
    set_reminded(indexed.engine, 2, 40, 3)
    for hour in (1, 2):
        check_now(settings, rules, redis_conn, store=indexed, now=then + timedelta(hours=hour))
        assert len(fake.bot_notes(2, 40)) == 1 and len(escalations(fake)) == 1


def test_the_escalation_names_no_owner_of_a_follow_up_the_incident_may_not_name(
    fake, runtime, settings, redis_conn: Redis, indexed: Store
) -> None:
    """No `followups.project`: a public follow-up in group/other, kept for confidential incident 1#23 (as a person's
    link and the tracking keep it), is outside the incident's scope: its escalation names the manager and the
    follow-up's reference, never its owner."""
    from datetime import UTC, date, datetime

    from service.corrective import FollowUpIssue
    from service.store.corrective import record

    shipped = load_rules(TEST_RULES)
    label = shipped.settings.followups.label
    declare_severity_1(fake, confidential=True)
    public = fake.add_issue(2, 40, title="Harden the login", issue_type="issue", path="group/other", labels=[label])
    public.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    issue = FollowUpIssue(2, 40, title="Harden the login", owner="bob", due_on=date(2026, 12, 1),
                          labels=frozenset({label}), project_path="group/other",
                          opened_at=datetime(2026, 11, 27, tzinfo=UTC))  # fmt: skip
    record(indexed.engine, (1, 23), issue, at("2026-11-28"))
    check_now(settings, shipped, redis_conn, store=indexed, now=at("2026-12-15"))
    (said,) = escalations(fake)
    assert "group/other#40" in said and "its owner not shown here" in said and "bob" not in said
