"""The executive digest: once per week per channel (real HTTP receivers), one GitLab issue a week, updated in place."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from service.reports.digest import DigestRun, ReportingProject, run_digest, week_of
from service.rules import RuleSet
from service.rules.settings import DigestSettings
from service.store import EventKind, Observation, Store, TimelineEvent
from tests.fakegitlab import FakeGitLabServer

MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)  # the default schedule: Mondays 08:00 UTC
REPORTING = 7  # the reporting project


def incident(iid: int, start: datetime, ack_minutes: int, closed_minutes: int | None, severity: int = 2) -> Observation:
    """An incident opened by alice at `start`, acknowledged by bob, closed by bob (or still open)."""
    events = [
        TimelineEvent(start, EventKind.SEVERITY, "", "", str(severity), "alice", 7),
        TimelineEvent(start + timedelta(minutes=ack_minutes), EventKind.COMMENT, "", "", "", "bob", 8),
    ]
    if closed_minutes is not None:
        events.append(
            TimelineEvent(start + timedelta(minutes=closed_minutes), EventKind.STATE, "", "", "closed", "bob", 8)
        )
    return Observation(
        project_id=1,
        project_path="shop/checkout",
        iid=iid,
        title=f"Incident {iid}",
        issue_type="incident",
        severity=severity,
        state="opened" if closed_minutes is None else "closed",
        author="alice",
        author_id=7,
        created_at=start,
        events=tuple(events),
    )


@pytest.fixture
def digest_rules(rules: RuleSet) -> RuleSet:
    """The shipped rules with a digest to the executives and responders and a reporting project."""
    digest = DigestSettings(channels=("executives", "responders"), project=str(REPORTING))
    return dataclasses.replace(rules, settings=dataclasses.replace(rules.settings, digest=digest))


def run(store: Store, rules: RuleSet, redis_conn: Redis, now: datetime, url: str) -> DigestRun:
    """One digest run at `now`, as the scheduled job or `digest --now` does it."""
    project = ReportingProject(url, "test-token", redis_conn)
    return run_digest(store=store, rules=rules, connection=redis_conn, now=now, env=os.environ, gitlab=project)


def test_posts_once_per_week_per_channel_and_updates_the_weeks_issue(
    store: Store, digest_rules: RuleSet, redis_conn: Redis, receivers, gitlab: FakeGitLabServer
) -> None:
    """Monday's run tells both channels and opens the week's issue; Tuesday's re-run tells nobody, edits that issue."""
    week = MONDAY - timedelta(days=7)
    store.record(incident(101, week + timedelta(days=1), 10, 120, severity=1))  # TTA 10, TTR 120
    store.record(incident(102, week + timedelta(days=2), 40, None, severity=1))  # TTA 40 > 15: breach; still open
    store.record(incident(103, week - timedelta(days=10), 30, 600))  # the weeks before
    first = run(store, digest_rules, redis_conn, MONDAY, gitlab.url)
    assert first.sent == ["executives", "responders"] and first.issue_created and not first.failures
    (told,) = receivers["executives"].delivered
    text = told.json()["text"]
    assert "Incident digest 2026-W48" in text and "incidents 2 (before: 0.25)" in text
    # Medians are nearest rank (of 10 and 40: 10), as in the report.
    assert "time to acknowledge 10 min (before: 30 min)" in text and first.issue_url in text
    (issue,) = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    assert issue["title"] == "Incident digest 2026-W48" and "| incidents | 2 | 0.25 |" in issue["description"]
    assert "Incident 102" in issue["description"]  # among the open incidents
    # A re-run the next day: same week, no second message, the same issue updated.
    store.record(incident(104, MONDAY + timedelta(hours=2), 5, 50))
    again = run(store, digest_rules, redis_conn, MONDAY + timedelta(days=1), gitlab.url)
    assert again.sent == [] and again.already == ["executives", "responders"] and not again.issue_created
    assert [len(r.delivered) for r in receivers.values()] == [1, 1]
    (issue,) = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    assert "| incidents | 3 | 0.25 |" in issue["description"]
    # Redis forgot the issue: it is found again by its title, not opened twice.
    for key in redis_conn.scan_iter("incident-bot:digest:issue:*"):
        redis_conn.delete(key)
    run(store, digest_rules, redis_conn, MONDAY + timedelta(days=2), gitlab.url)
    assert len([k for k in gitlab.fake.issues if k[0] == REPORTING]) == 1
    # The next Monday is a new week: told again, a new issue.
    later = run(store, digest_rules, redis_conn, MONDAY + timedelta(days=7), gitlab.url)
    assert later.sent == ["executives", "responders"] and later.issue_created
    assert sorted(i["title"] for (p, _), i in gitlab.fake.issues.items() if p == REPORTING) == [
        "Incident digest 2026-W48",
        "Incident digest 2026-W49",
    ]


def test_a_refusing_channel_is_told_on_the_next_run(
    store: Store, digest_rules: RuleSet, redis_conn: Redis, receivers, gitlab: FakeGitLabServer
) -> None:
    """Executives' channel answers 500: the others are told, the failure is reported, a re-run tells it once."""
    receivers["executives"].fail(1)
    first = run(store, digest_rules, redis_conn, MONDAY, gitlab.url)
    assert first.sent == ["responders"] and len(first.failures) == 1
    second = run(store, digest_rules, redis_conn, MONDAY + timedelta(hours=1), gitlab.url)
    assert second.sent == ["executives"] and second.already == ["responders"]
    assert [r.status for r in receivers["executives"].delivered] == [200]  # the refused attempt is not a delivery


def test_the_week_is_the_one_most_of_the_window_lies_in() -> None:
    """Monday 08:00 and the re-runs until Thursday name the week just ended; Friday's names the current one."""
    assert week_of(MONDAY) == week_of(MONDAY + timedelta(days=3)) == "2026-W48"
    assert week_of(MONDAY + timedelta(days=4)) == "2026-W49"


def test_a_bad_digest_block_is_a_file_line_error(tmp_path) -> None:
    """A cron that is not five fields and an unknown channel are each named with their file and line."""
    import shutil

    from service.config import shipped_rules_dir
    from service.rules import RulesError, load_rules

    rules_dir = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules_dir)
    settings = rules_dir / "settings.yml"
    text = settings.read_text().replace(
        "settings:\n", "settings:\n  digest:\n    cron: '0 8 * *'\n    channels: [executives, board]\n", 1
    )
    settings.write_text(text)
    with pytest.raises(RulesError) as caught:
        load_rules(rules_dir)
    report = caught.value.report()
    assert f"{settings}:4: digest: cron '0 8 * *' is not a five-field cron expression" in report
    assert f"{settings}:5: digest uses unknown channel 'board'" in report
    assert load_rules(shipped_rules_dir()).digest.cron == "0 8 * * 1"


@pytest.fixture
def digest_env(tmp_path, monkeypatch: pytest.MonkeyPatch, receivers, gitlab: FakeGitLabServer) -> None:
    """`incident-bot` configured as deployed: a rules copy with a digest block, an index under tmp, the fake GitLab."""
    import shutil

    from service.config import shipped_rules_dir
    from tests.conftest import test_redis_url

    rules_dir = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules_dir)
    settings = rules_dir / "settings.yml"
    block = f"settings:\n  digest:\n    project: '{REPORTING}'\n"
    settings.write_text(settings.read_text().replace("settings:\n", block, 1))
    for name, value in {
        "INCIDENT_BOT_RULES": str(rules_dir),
        "INCIDENT_BOT_DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": test_redis_url(),
        "GITLAB_URL": gitlab.url,
        "GITLAB_TOKEN": "test-token",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INCIDENT_BOT_DATABASE_URL", raising=False)


def test_digest_now_posts_to_the_executives_once_and_keeps_one_issue(
    digest_env: None, redis_conn: Redis, receivers, gitlab: FakeGitLabServer, capsys
) -> None:
    """`incident-bot digest --now` twice: the executives (the default channel) hear once; the week's issue is edited."""
    from service.cli import main

    assert main(["digest", "--now"]) == 0
    assert "digest sent to executives; issue opened" in capsys.readouterr().out
    assert main(["digest", "--now"]) == 0
    assert "already told this week: executives" in capsys.readouterr().out
    assert len(receivers["executives"].delivered) == 1 and receivers["responders"].delivered == []
    issues = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    assert len(issues) == 1 and issues[0]["title"].startswith("Incident digest ")


def test_the_worker_schedules_the_digest_on_the_rules_cron(
    digest_env: None, redis_conn: Redis, receivers, gitlab: FakeGitLabServer
) -> None:
    """The periodic jobs register the digest job on its cron; run by a real RQ worker, it posts and opens the issue."""
    from rq import Queue, SimpleWorker

    from service.reports.digest_job import digest_job
    from service.worker.schedule import PeriodicJobs

    periodic = PeriodicJobs(redis_conn, "digest-test", "digest-test", reconcile_seconds=3600, digest_cron="0 8 * * 1")
    (job,) = [j for j in periodic.cron.get_jobs() if j.func is digest_job]
    assert job.cron == "0 8 * * 1"
    queue = Queue("digest-test-run", connection=redis_conn)
    queued = queue.enqueue(digest_job)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    queued.refresh()
    assert (
        queued.return_value()
        == "digest sent to executives; issue opened: http://gitlab.test/group/project/-/issues/501"
    )
    assert len(receivers["executives"].delivered) == 1
