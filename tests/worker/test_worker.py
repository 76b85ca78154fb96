"""The job itself: the real GitLab session against the fake GitLab at the HTTP boundary (`responses`)."""

from __future__ import annotations

import json
import logging

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from service.gitlab import PermanentGitLabError
from service.incident import read_memory
from service.queue import EventQueue
from service.worker import process_delivery
from tests.bursts import failure
from tests.conftest import body, payload
from tests.rulesdir import TEST_RULES
from tests.worker.helpers import run_queued


def run(name: str, key: str, uuid: str | None = "uuid-1", **attrs: object) -> str:
    return process_delivery(body(name, **attrs), {"delivery_id": key, "event_uuid": uuid})


def test_new_incident_gets_severity_and_phase_in_one_put(fake, runtime) -> None:
    """The first behaviour: default severity and phase, in the same single PUT, then one note."""
    run("issue.open.incident", "k1")
    puts = [c for c in fake.writes() if c.method == "PUT"]
    assert len(puts) == 1
    added = set(puts[0].body["add_labels"].split(","))
    assert {"severity::3", "incident::identification"} <= added
    # The issue's PUT, the GraphQL severity and assignees go together (any may land first), then the note.
    together = sorted(f"{c.method} {c.path}" for c in fake.writes()[:3])
    assert together == ["POST /api/graphql", "POST /api/graphql", "PUT /projects/1/issues/23"]
    assert len(fake.writes()) == 4
    assert fake.writes()[-1].path == "/projects/1/issues/23/notes"
    assert {"severity::3", "incident::identification"} <= fake.labels()


def test_writes_forward_the_event_uuid(fake, runtime) -> None:
    """Every write carries X-Gitlab-Event-UUID, so GitLab does not fire the same hook again."""
    run("issue.open.incident", "k1", uuid="evt-42")
    assert fake.writes() and all(c.headers.get("X-Gitlab-Event-UUID") == "evt-42" for c in fake.writes())


def test_existing_labels_are_kept(fake, runtime) -> None:
    """An incident opened with a severity keeps it; only the missing phase is added."""
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::2"]
    run("issue.open.incident", "k1")
    put = next(c for c in fake.writes() if c.method == "PUT")
    assert "severity" not in put.body["add_labels"] and "incident::identification" in put.body["add_labels"]
    assert "remove_labels" not in put.body


def test_replayed_delivery_writes_nothing(fake, runtime) -> None:
    """A delivery already applied (recorded in the bot's memory note) is skipped, even with Redis flushed."""
    run("issue.open.incident", "k1")
    writes = len(fake.writes())
    assert run("issue.open.incident", "k1") == "already applied"
    assert len(fake.writes()) == writes


def test_irrelevant_update_writes_nothing(fake, runtime) -> None:
    """A title edit on a handled incident changes nothing."""
    run("issue.open.incident", "k1")
    writes = len(fake.writes())
    run("issue.update.title", "k2")
    assert len(fake.writes()) == writes


def test_memory_lives_in_the_bots_note(fake, runtime) -> None:
    """The bot's note carries a hidden record of what it handled."""
    run("issue.open.incident", "k1")
    (note,) = fake.bot_notes()
    memory = read_memory(note["body"])
    assert memory is not None
    assert memory["severity"] == 3 and memory["phase"] == "identification" and memory["deliveries"] == ["k1"]


def test_bots_own_events_are_ignored(fake, runtime) -> None:
    """An event whose actor is the bot (asked once via GET /user) is not acted on."""
    data = payload("issue.open.incident")
    data["user"]["username"] = "incident-bot"
    result = process_delivery(json.dumps(data).encode(), {"delivery_id": "self-1"})
    assert result == "ignored: own change"
    assert fake.writes() == []


def test_bot_user_is_asked_once(fake, runtime) -> None:
    """GET /user happens once and is shared through Redis."""
    run("issue.open.incident", "k1")
    run("issue.update.title", "k2")
    assert [c.path for c in fake.calls].count("/user") == 1


def test_dry_run_writes_nothing_and_logs_the_plan(settings, rules, redis_conn, caplog) -> None:
    """Without a token the bot plans and logs what it would do, and makes no GitLab call at all."""
    from service.config import Settings
    from service.worker import Runtime, install

    install(Runtime(settings=Settings(**{**settings.__dict__, "gitlab_token": ""}), rules=rules, connection=redis_conn))
    with caplog.at_level(logging.INFO, logger="incident_bot"):
        result = run("issue.open.incident", "k1")
    assert result.startswith("dry-run")
    assert "would AddLabels" in caplog.text and "severity::3" in caplog.text


def test_permanent_error_fails_without_retry(fake, runtime, redis_conn) -> None:
    """A 403 from GitLab will not get better: the job fails at once, with the reason, in the failed registry."""
    fake.fail("PUT", r"/projects/1/issues/23", 403)
    queue = EventQueue(redis_conn, "perm")
    queue.enqueue(body("issue.open.incident"), {"delivery_id": "p1"}, delivery_id="p1", issue_key="1:23", actor="alice")
    SimpleWorker([Queue("perm", connection=redis_conn)], connection=redis_conn).work(burst=True)
    job = Job.fetch("p1", connection=redis_conn)
    assert job.get_status() == JobStatus.FAILED
    assert "403" in failure(job)


def test_transient_error_is_retried_by_rq(fake, runtime, redis_conn) -> None:
    """GitLab answering 502 more often than the GitLab session retries: RQ retries the job and it applies once."""
    fake.fail("PUT", r"/projects/1/issues/23", 502, times=4)
    queue = EventQueue(redis_conn, "transient", retry_intervals=(0, 0))
    queue.enqueue(body("issue.open.incident"), {"delivery_id": "t1"}, delivery_id="t1", issue_key="1:23", actor="alice")
    SimpleWorker([Queue("transient", connection=redis_conn)], connection=redis_conn).work(burst=True)
    assert Job.fetch("t1", connection=redis_conn).get_status() == JobStatus.FINISHED
    assert len(fake.bot_notes()) == 1
    assert {"severity::3", "incident::identification"} <= fake.labels()


def test_malformed_job_payload_fails_clearly(runtime) -> None:
    """A payload that cannot be parsed fails with a PayloadError naming the delivery."""
    from service.events import PayloadError

    with pytest.raises(PayloadError, match="bad-1"):
        process_delivery(b"{}", {"delivery_id": "bad-1"})


def test_permanent_error_class(fake, runtime) -> None:
    """A 404 issue is a PermanentGitLabError (the job will not retry)."""
    data = payload("issue.open.incident")
    data["object_attributes"]["iid"] = 999
    with pytest.raises(PermanentGitLabError):
        process_delivery(json.dumps(data).encode(), {"delivery_id": "nf"})


def test_staffing_asks_no_user_lookup(fake, runtime) -> None:
    """Staffing goes by username in the issue's write round (GraphQL): GitLab is asked for no user's id."""
    fake.add_issue(1, 24)
    run("issue.open.incident", "k1")
    run("issue.open.incident", "k2", iid=24)
    assert not [c for c in fake.calls if c.path == "/users"]
    assert [a["username"] for a in fake.issues[(1, 24)]["assignees"]] == ["eoc-carol"]


def test_closing_a_critical_incident_opens_one_linked_review(fake, runtime) -> None:
    """Story 3's end: a linked review issue pre-filled with the timeline; a replay after a crash opens no second one."""
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1"]
    run("issue.open.incident", "k1")
    fake.issues[(1, 23)]["state"] = "closed"
    run("issue.close.incident", "k2")
    (review,) = [i for k, i in fake.issues.items() if k != (1, 23)]
    assert review["title"] == "Post-incident review: Checkout returns 500 errors"
    assert "incident declared by @alice" in review["description"] and "post-incident" in review["description"]
    assert fake.links[(1, 23)] == [(1, review["iid"])]
    assert f"Post-incident review opened: {review['web_url']}" in fake.bot_notes()[-1]["body"]
    # The worker died after linking but before its note: the retry reuses the review.
    fake.notes[(1, 23)].pop()
    run("issue.close.incident", "k2")
    assert len([i for k, i in fake.issues.items() if k != (1, 23)]) == 1
    assert f"Post-incident review opened: {review['web_url']}" in fake.bot_notes()[-1]["body"]


def test_edited_rules_are_picked_up_and_bad_edits_refused(fake, settings, redis_conn, tmp_path, caplog) -> None:
    """A worker reloads changed rules between jobs; an invalid edit is logged and the last good rules stay."""
    import os
    import shutil

    from service.config import Settings
    from service.rules import load_rules
    from service.worker import Runtime, install

    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    rt = Runtime(
        settings=Settings(**{**settings.__dict__, "rules_dir": folder}), rules=load_rules(folder), connection=redis_conn
    )
    install(rt)
    assert rt.refresh_rules() is False  # first look: nothing to reload
    severity = folder / "severity.yml"
    severity.write_text(severity.read_text().replace("- set_severity: 3", "- set_severity: 4"))
    os.utime(severity, ns=(1, 2))
    assert rt.refresh_rules() is True
    run("issue.open.incident", "k1")
    assert "severity::4" in fake.labels()
    (folder / "broken.yml").write_text("rules:\n  - name: x\n    then: [{set_phase: nowhere}]\n")
    with caplog.at_level(logging.ERROR, logger="incident_bot"):
        assert rt.refresh_rules() is False
    assert "keeping the last good ones" in caplog.text and "broken.yml:3" in caplog.text
    assert any(r.name == "default-severity" for r in rt.rules.rules)


def test_native_severity_refused_does_not_stop_the_rest(fake, runtime) -> None:
    """GitLab refusing the GraphQL severity (no permission, Free tier) is logged; labels and note still land."""
    fake.fail("POST", r"/api/graphql#issueSetSeverity", 403)
    assert run("issue.open.incident", "k1").startswith("applied")
    assert len(fake.bot_notes()) == 1 and "severity::3" in fake.labels()


def test_review_refused_is_said_in_the_note(fake, runtime) -> None:
    """If GitLab refuses to open the review issue, the comment says so instead of failing the event."""
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::2"]
    run("issue.open.incident", "k1")
    fake.issues[(1, 23)]["state"] = "closed"
    fake.fail("POST", r"/projects/1/issues", 403)
    assert run("issue.close.incident", "k2").startswith("applied")
    assert "Post-incident review opened: not possible" in fake.bot_notes()[-1]["body"]
    assert "incident::post-incident" in fake.labels()


def test_unknown_rotation_member_is_reported_not_assigned(fake, runtime) -> None:
    """A rotation naming a user GitLab does not know: nobody is assigned and the comment says why."""
    del fake.users["eoc-carol"]
    run("issue.open.incident", "k1")
    assert fake.issues[(1, 23)]["assignees"] == []
    assert "**Not assigned**: `eoc-carol` is not a GitLab user" in fake.bot_notes()[-1]["body"]


@pytest.mark.parametrize("assignees", [5, True, "alice"])
def test_malformed_field_fails_at_once_and_the_issue_moves_on(
    fake, runtime, redis_conn, monkeypatch, assignees
) -> None:
    """A payload the parser chokes on (whatever it raises) fails without retries; the issue's next event is applied."""
    import service.worker.job

    real = service.worker.job.parse_event

    def parse(data, **kwargs):
        if kwargs["delivery_id"] == "bad":  # the parser as it was: `"assignees": 5` raised a TypeError
            raise TypeError(f"{type(data['assignees']).__name__!r} object is not iterable")
        return real(data, **kwargs)

    monkeypatch.setattr(service.worker.job, "parse_event", parse)
    bad = payload("issue.open.incident")
    bad["assignees"] = assignees
    bad_job, good_job = run_queued(
        redis_conn, "malformed", [("bad", json.dumps(bad).encode()), ("good", body("issue.open.incident"))]
    )
    assert bad_job.get_status() == JobStatus.FAILED
    assert len(bad_job.results()) == 1  # run once, never retried
    assert "object is not iterable" in failure(bad_job)
    assert bad_job.id in FailedJobRegistry("malformed", connection=redis_conn)
    assert good_job.get_status() == JobStatus.FINISHED
    assert {"severity::3", "incident::identification"} <= fake.labels()


def test_planning_error_fails_at_once_with_its_reason(fake, runtime, redis_conn, monkeypatch) -> None:
    """A rule template failing at render time cannot get better by retrying: failed now, next event runs."""
    import service.worker.job

    real = service.worker.job.plan_event

    def plan(event, *args):
        if event.delivery_id == "bad":
            raise NameError("'titel' is undefined")  # what an undefined name in a template raises
        return real(event, *args)

    monkeypatch.setattr(service.worker.job, "plan_event", plan)
    bad_job, good_job = run_queued(
        redis_conn, "unplannable", [("bad", body("issue.open.incident")), ("good", body("issue.open.incident"))]
    )
    assert bad_job.get_status() == JobStatus.FAILED and len(bad_job.results()) == 1
    assert "'titel' is undefined" in failure(bad_job)
    assert good_job.get_status() == JobStatus.FINISHED and len(fake.bot_notes()) == 1


def command(text: str, key: str, uid: int = 7) -> str:
    """A comment by alice (user `uid`) on the incident."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note=text, action="create")
    data["user"].update(username="alice", id=uid)
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


@pytest.mark.parametrize(
    "change", ["severity 1", "phase mitigation", "handoff eoc @bob", "update all good", "page database"]
)
def test_removed_member_cannot_change_anything_right_after(fake, runtime, change) -> None:
    """Access is asked again for every command that changes something: removal takes effect at once."""
    run("issue.open.incident", "k1")
    command("@incident-bot help", "c1")  # alice is a Developer: answered
    del fake.members[7]  # removed from the project
    labels = fake.labels()
    command(f"@incident-bot {change}", "c2")
    assert "only project members with at least Developer access" in fake.bot_notes()[-1]["body"]
    assert fake.labels() == labels


def test_worker_log_has_one_line_per_delivery_not_rq_chatter(fake, runtime, redis_conn, caplog) -> None:
    """At INFO the worker says "applied" once per delivery; RQ's registry cleaning and job lines are DEBUG."""
    from service.logs import quiet_rq

    quiet_rq()
    with caplog.at_level(logging.INFO):
        run_queued(redis_conn, "quiet", [("k1", body("issue.open.incident")), ("k2", body("issue.update.title"))])
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in shown if "cleaning registries" in m or "Job OK" in m or "Successfully completed" in m]
    assert len([m for m in shown if m.startswith("applied:")]) == 2, shown
