"""The overdue pass on a controlled clock (no sleeps): reminders on the due date then weekly, escalation, no owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from redis import Redis
from rq import Queue

from service.ops.overdue import check_now
from service.store import Store
from service.store.corrective import of_incident, with_incidents
from service.worker import process_delivery
from tests.bursts import work_until
from tests.conftest import body, payload
from tests.followups import comment, follow_up_issues, issue_hook, list_note

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

NOTES = "incident-bot"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+00:00").astimezone(UTC)


def declare_severity_1(fake) -> None:
    """Incident 1#23 declared, then raised to severity 1 (the incident manager, im-alice, staffed)."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-23"})
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1", "severity::3", "incident::identification"]
    data = payload("issue.update.severity")
    data["project"]["id"] = data["object_attributes"]["project_id"] = 1
    process_delivery(json.dumps(data).encode(), {"delivery_id": "sev-1"})


def reminders(fake, iid: int) -> list[str]:
    return [n["body"] for n in fake.bot_notes(1, iid) if "overdue" in n["body"] or "is due today" in n["body"]]


def test_reminders_on_the_due_date_then_weekly_then_naming_the_incident_manager(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Due 2026-12-01: nothing the day before; one comment on the day naming bob (hourly passes add none); one a
    week later; from 14 days overdue the incident manager is named too; none once it is closed."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    iid = issue["iid"]

    def run(day: str, hour: int = 10) -> None:
        check_now(settings, rules, redis_conn, store=indexed, now=at(day).replace(hour=hour))

    run("2026-11-30")
    assert reminders(fake, iid) == []
    for hour in (10, 11, 12):
        run("2026-12-01", hour)
    (first,) = reminders(fake, iid)
    assert first.startswith("@bob") and "is due today" in first and "@im-alice" not in first
    run("2026-12-05")
    run("2026-12-08")
    assert len(reminders(fake, iid)) == 2 and "7 days overdue" in reminders(fake, iid)[-1]
    run("2026-12-15")
    assert len(reminders(fake, iid)) == 3 and "@im-alice" in reminders(fake, iid)[-1]
    issue.update(state="closed", closed_at="2026-12-16T09:00:00Z", updated_at="2026-12-16T09:00:00Z")
    issue_hook(fake, iid, "close-1")
    run("2026-12-22")
    assert len(reminders(fake, iid)) == 3


def test_a_follow_up_without_owner_is_named_in_the_incident_weekly(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """No owner: nothing at once (the reply said so), then named in the incident (no review) a week on, once."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Alert on queue depth", key="c1")
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-11-28"))
    named = lambda: [n for n in fake.bot_notes(1, 23) if "no owner yet" in n["body"] and "assign each" in n["body"]]  # noqa: E731
    assert named() == []
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-04"))
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-05"))
    assert len(named()) == 1 and "Alert on queue depth" in named()[0]["body"]


def test_the_scheduled_job_runs_once_per_period_across_workers(
    fake, runtime, settings, redis_conn: Redis, monkeypatch, indexed: Store, database_url: str
) -> None:
    """Two workers' schedulers enqueue the check in one hour: the first runs the pass, the second skips."""
    for name, value in (("GITLAB_URL", settings.gitlab_url), ("GITLAB_TOKEN", "test-token")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    monkeypatch.setenv("INCIDENT_BOT_RULES", str(settings.rules_dir))
    queue = Queue("incident-bot-notify", connection=redis_conn)
    first = queue.enqueue("service.ops.overdue.follow_ups_check_job")
    second = queue.enqueue("service.ops.overdue.follow_ups_check_job")
    finished = lambda: all(job.get_status(refresh=True) == "finished" for job in (first, second))  # noqa: E731
    work_until([queue], finished)
    results = sorted(str(job.return_value()) for job in (first, second))
    assert results[0].startswith("follow-ups: 0 overdue") and results[1].startswith("skipped: another worker")


def test_each_reminder_posted_is_counted_by_kind(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """`incident_bot_follow_up_reminders_total{kind}`: one per comment posted (overdue, escalated, unowned); a pass
    that posts nothing counts nothing."""
    from prometheus_client import REGISTRY

    def counted() -> dict[str, float]:
        found = {k: REGISTRY.get_sample_value("incident_bot_follow_up_reminders_total", {"kind": k}) for k in KINDS}
        return {k: v or 0.0 for k, v in found.items()}

    KINDS = ("overdue", "escalated", "unowned")
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    comment("@incident-bot follow-up Alert on queue depth", key="c2")
    before = counted()
    for day in ("2026-12-01", "2026-12-01", "2026-12-08", "2026-12-15"):
        check_now(settings, rules, redis_conn, store=indexed, now=at(day))
    after = counted()
    # bob's: on the due day and a week on (overdue), 14 days on (escalated); the one without owner (opened
    # 2026-11-27, the fake GitLab's clock) named a week on and two weeks on (the Dec 8 and 15 passes)
    delta = {k: after[k] - before[k] for k in KINDS}
    assert delta == {"overdue": 2, "escalated": 1, "unowned": 2}
    assert len([n for n in fake.bot_notes(1, 23) if "assign each" in n["body"]]) == 2


def test_a_follow_up_closed_without_a_hook_is_not_reminded_and_the_index_learns_it(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Its project sends the bot no hooks: closed in GitLab before its due date, the pass reads the issue, posts no
    reminder, and queues the Issue Hook GitLab did not send: the tracking keeps it closed in the index (no later
    pass reads it again) and ticks the incident's checklist."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    issue.update(state="closed", closed_at="2026-11-30T09:00:00Z", updated_at="2026-11-30T09:00:00Z")
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-01"))
    assert reminders(fake, issue["iid"]) == []
    closed = lambda: [r.state for r in of_incident(indexed.engine, 1, 23)] == ["closed"]  # noqa: E731
    work_until([Queue(settings.queue_name, connection=redis_conn)], closed, what="the follow-up closed in the index")
    assert with_incidents(indexed.engine, open_only=True) == [] and "- [x] " in list_note(fake)


def test_an_unowned_follow_up_escalates_to_the_incident_manager(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """No owner, due 2026-12-01: no owner to remind on the due date; 14 days overdue its issue names the incident
    manager (and that it has no owner)."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Alert on queue depth due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-01"))
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-08"))
    assert reminders(fake, issue["iid"]) == []
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-15"))
    (escalated,) = reminders(fake, issue["iid"])
    assert "@im-alice" in escalated and "no owner yet" in escalated and "14 days overdue" in escalated
