"""The digest's reporting issue (an ordinary issue of another project) names nothing of a confidential incident."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from service.reports.digest import ReportingProject, run_digest
from service.rules import RuleSet
from service.rules.settings import DigestSettings
from service.store import EventKind, Observation, Store, TimelineEvent

MONDAY = datetime(2026, 11, 30, 8, tzinfo=UTC)
REPORTING = 7
SECRET = "Pangolin breach exposed card numbers"


def observed(iid: int, title: str, *, confidential: bool, start: datetime) -> Observation:
    """A severity 1 incident of `secretgroup/private`, opened at `start` and still open."""
    return Observation(
        project_id=3,
        project_path="secretgroup/private",
        iid=iid,
        title=title,
        url=f"http://gitlab.test/secretgroup/private/-/issues/{iid}",
        confidential=confidential,
        issue_type="incident",
        severity=1,
        created_at=start,
        events=(TimelineEvent(start, EventKind.SEVERITY, "", "", "1", "alice", 7),),
    )


def test_the_digest_issue_shows_no_confidential_incident(
    store: Store, rules: RuleSet, redis_conn: Redis, gitlab
) -> None:
    """A confidential incident is counted in the digest but its title, project and number appear nowhere in it."""
    start = MONDAY - timedelta(days=3)
    store.record(observed(41, SECRET, confidential=True, start=start))
    store.record(observed(42, "Checkout slow in EU", confidential=False, start=start + timedelta(hours=1)))
    digest = DigestSettings(channels=(), project=str(REPORTING))
    with_digest = dataclasses.replace(rules, settings=dataclasses.replace(rules.settings, digest=digest))
    project = ReportingProject(gitlab.url, "test-token", redis_conn)
    outcome = run_digest(
        store=store, rules=with_digest, connection=redis_conn, now=MONDAY, env=os.environ, gitlab=project
    )
    assert outcome.issue_created and not outcome.failures
    (issue,) = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    assert issue["confidential"] is False
    text = issue["description"]
    assert "| incidents | 2 |" in text and "Checkout slow in EU" in text and "secretgroup/private#42" in text
    assert "Pangolin" not in text and "#41" not in text and "confidential incident" in text


def test_the_workers_digest_job_shows_no_confidential_incident(
    store: Store, database_url: str, redis_conn: Redis, gitlab, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled digest job, run by a real RQ worker over this index: the reporting issue names nothing of it."""
    import shutil

    from rq import Queue, SimpleWorker

    from service.config import shipped_rules_dir
    from service.reports.digest_job import digest_job
    from tests.conftest import test_redis_url

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    store.record(observed(41, SECRET, confidential=True, start=start))
    store.record(observed(42, "Checkout slow in EU", confidential=False, start=start + timedelta(hours=1)))
    rules_dir = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), rules_dir)
    settings = rules_dir / "settings.yml"
    block = f"settings:\n  digest:\n    project: '{REPORTING}'\n    channels: []\n"
    settings.write_text(settings.read_text().replace("settings:\n", block, 1))
    for name, value in {
        "INCIDENT_BOT_RULES": str(rules_dir),
        "INCIDENT_BOT_DATABASE_URL": database_url,
        "REDIS_URL": test_redis_url(),
        "GITLAB_URL": gitlab.url,
        "GITLAB_TOKEN": "test-token",
    }.items():
        monkeypatch.setenv(name, value)
    queue = Queue("digest-confidential", connection=redis_conn)
    queued = queue.enqueue(digest_job)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    queued.refresh()
    assert "issue opened" in str(queued.return_value())
    (issue,) = [i for (p, _), i in gitlab.fake.issues.items() if p == REPORTING]
    assert issue["confidential"] is False and "Checkout slow in EU" in issue["description"]
    assert "Pangolin" not in issue["description"] and "#41" not in issue["description"]
