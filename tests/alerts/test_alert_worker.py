"""The alert job against the fake GitLab (real python-gitlab, real Redis): an incident opened once and declared
by the ordinary planner, repeats and redeliveries writing nothing, escalation, on_resolved, storms."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from redis import Redis

from service.alerts.actions import CommentOnAlertIncident
from service.alerts.grouping import GroupStore
from service.alerts.sources import parse
from service.gitlab import TransientGitLabError
from service.rules.alertmodel import OnResolved
from service.worker import Runtime, alertapply
from tests.alerts.helpers import OPS, alert, new_issues, run_queue
from tests.alerts.samples import REFIRED, alertmanager, am_alert, dumps
from tests.fakegitlab import FakeGitLab


def test_an_alert_opens_one_incident_declared_in_one_comment(fake: FakeGitLab, runtime: Runtime) -> None:
    """The first firing notification opens the issue in the routed project; the planner declares it in one comment."""
    assert alert(alertmanager()).startswith("applied: OpenAlertIncident")
    [issue] = new_issues(fake)
    assert issue["project_id"] == OPS and {"incident", "severity::3"} <= set(issue["labels"])
    assert "| HighErrorRate | firing |" in issue["description"]
    run_queue(runtime)
    notes = fake.bot_notes(OPS, issue["iid"])
    assert len(notes) == 1 and "incident::identification" in fake.labels(OPS, issue["iid"])


def test_a_redelivered_or_repeated_alert_writes_nothing(fake: FakeGitLab, runtime: Runtime) -> None:
    """The same group again (another delivery id: an HA pair, repeat_interval) opens nothing and posts nothing."""
    alert(alertmanager())
    run_queue(runtime)
    writes = len(fake.writes())
    assert alert(alertmanager(), "d-2") == "nothing to do"
    run_queue(runtime)
    assert len(fake.writes()) == writes and len(new_issues(fake)) == 1


def test_a_worker_killed_after_creating_the_issue_finds_it_on_retry(fake: FakeGitLab, runtime: Runtime) -> None:
    """GitLab created the issue but the job died before recording it: the retry finds it by its marker."""
    fake.fail("GET", r"/projects/1/issues/\d+", 500, times=4)  # the read after the creation, retries included
    with pytest.raises(TransientGitLabError):
        alert(alertmanager())
    assert len(new_issues(fake)) == 1
    alert(alertmanager())  # RQ's retry: same delivery
    assert len(new_issues(fake)) == 1
    record = GroupStore(runtime.connection, runtime.settings.keys).get(
        parse("alertmanager", dumps(alertmanager())).group_id
    )
    assert record is not None and record.iid == new_issues(fake)[0]["iid"]


def test_a_more_severe_alert_escalates_through_the_planner(fake: FakeGitLab, runtime: Runtime) -> None:
    """A critical alert joining: severity label changed, the table edited, the escalation announced."""
    alert(alertmanager())
    run_queue(runtime)
    [issue] = new_issues(fake)
    alert(alertmanager(am_alert(), am_alert(instance="web-2", severity="critical")), "d-2")
    assert "severity::1" in fake.labels(OPS, issue["iid"]) and "severity::3" not in fake.labels(OPS, issue["iid"])
    assert "web-2" in issue["description"]
    run_queue(runtime)
    assert any("escalat" in n["body"].lower() for n in fake.bot_notes(OPS, issue["iid"]))


@pytest.mark.parametrize("behaviour", [OnResolved.COMMENT, OnResolved.CLOSE, OnResolved.MITIGATE])
def test_resolution_follows_on_resolved(fake: FakeGitLab, runtime: Runtime, behaviour: OnResolved) -> None:
    """All alerts resolved: a comment with the times, then comment (open), close, or mitigate (remediation)."""
    runtime.rules = replace(runtime.rules, alerts=replace(runtime.rules.alerts, on_resolved=behaviour))
    alert(alertmanager())
    run_queue(runtime)
    [issue] = new_issues(fake)
    alert(alertmanager(am_alert(status="resolved")), "d-2")
    run_queue(runtime)
    assert any("All alerts of this group have resolved" in n["body"] for n in fake.bot_notes(OPS, issue["iid"]))
    assert issue["state"] == ("closed" if behaviour is OnResolved.CLOSE else "opened")
    assert ("incident::remediation" in issue["labels"]) is (behaviour is OnResolved.MITIGATE)


def test_firing_again_reopens_the_incident_a_person_closed(fake: FakeGitLab, runtime: Runtime) -> None:
    """Resolved, closed by a person, firing again within the window: the same incident, reopened, "fired again"."""
    alert(alertmanager())
    alert(alertmanager(am_alert(status="resolved")), "d-2")
    [issue] = new_issues(fake)
    issue["state"] = "closed"
    alert(alertmanager(am_alert(starts_at=REFIRED)), "d-3")
    assert issue["state"] == "opened" and len(new_issues(fake)) == 1
    assert any(n["body"].startswith("**Fired again**") for n in fake.notes[(OPS, issue["iid"])])


def test_a_storm_opens_the_limit_plus_one_issue_naming_every_group(
    fake: FakeGitLab, runtime: Runtime, redis_conn: Redis
) -> None:
    """More new groups in a minute than max_new_incidents_per_minute: the rest are listed in one storm incident."""
    for n in range(13):
        alert(alertmanager(am_alert(name=f"Down{n}"), group=f"group-{n}"), f"d-{n}")
    issues = new_issues(fake)
    assert len(issues) == 11
    storm = [i for i in issues if i["title"].startswith("Alert storm")]
    assert len(storm) == 1 and all(f"| Down{n} | firing |" in storm[0]["description"] for n in (10, 11, 12))


class Killed(BaseException):
    """What SIGKILL leaves of a job: nothing after this point runs (no except clause catches it)."""


def test_a_retry_after_the_comment_was_posted_posts_it_once(
    fake: FakeGitLab, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolution comment posted, then the worker dies before the group's record is saved; RQ's retry of the
    same delivery finds the comment by its marker and does not post it again (nor does a later repeat)."""
    alert(alertmanager())
    [issue] = new_issues(fake)
    post = alertapply.APPLY[CommentOnAlertIncident]

    def killed_after_posting(*args: Any) -> Any:
        post(*args)
        raise Killed

    monkeypatch.setitem(alertapply.APPLY, CommentOnAlertIncident, killed_after_posting)
    resolved = alertmanager(am_alert(status="resolved"))
    with pytest.raises(Killed):
        alert(resolved, "d-2")
    monkeypatch.setitem(alertapply.APPLY, CommentOnAlertIncident, post)
    alert(resolved, "d-2")  # RQ's retry: same delivery, same body
    said = [n for n in fake.notes[(OPS, issue["iid"])] if "All alerts of this group have resolved" in n["body"]]
    assert len(said) == 1
    assert alert(resolved, "d-3") == "nothing to do"
