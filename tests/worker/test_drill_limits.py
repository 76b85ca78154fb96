"""Limits on what one person can make the bot do, and a drill's routing when its label goes: through the real
delivery job, real Redis, GitLab faked at HTTP (`responses`), notification receivers real local HTTP servers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from redis import Redis
from rq import Queue, SimpleWorker

from service.incident import read_memory, strip_memory
from service.rules import RulesError, RuleSet, load_rules
from service.rules.drills import drill_limit
from service.worker import build_runtime, install, process_delivery
from tests.conftest import GITLAB, NOW, ROOT, payload
from tests.fakegitlab import FakeGitLab, install_responses
from tests.receivers import HttpReceiver

CHANNELS = ("RESPONDERS", "EXECUTIVES", "RELIABILITY", "SIRT", "SUPPORT", "TRAINING", "DEVELOPMENT", "QUALITY")


def comment(note: str, n: int, user: str = "alice", uid: int = 7, labels: tuple[str, ...] = ()) -> bytes:
    """New comment number `n` (its own note id, as GitLab gives every comment) on issue 1#23."""
    data = payload("note.create.incident")
    data["user"] = {**data["user"], "id": uid, "username": user, "name": user.title()}
    data["object_attributes"].update(note=note, id=5000 + n)
    data["issue"]["labels"] = [{"title": x} for x in labels]
    data["issue"]["type"] = "Issue"
    return json.dumps(data).encode()


@pytest.fixture()
def gitlab() -> Iterator[FakeGitLab]:
    model = FakeGitLab()
    issue = model.add_issue(1, 23, title="Q3 training plan")
    issue["issue_type"] = "issue"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")  # the local notification receivers
        install_responses(rsps, model, GITLAB)
        yield model


@pytest.fixture()
def worker(settings, rules: RuleSet, redis_conn: Redis, gitlab, monkeypatch):
    for name in CHANNELS:
        monkeypatch.delenv(f"INCIDENT_BOT_CHANNEL_{name}", raising=False)
    runtime = build_runtime(settings, rules, redis_conn)
    runtime.clock = lambda: NOW
    install(runtime)
    return runtime


def drills(gitlab: FakeGitLab) -> list[dict[str, Any]]:
    return [i for i in gitlab.issues.values() if i["title"].startswith("[DRILL]")]


def replies(gitlab: FakeGitLab) -> list[str]:
    return [strip_memory(n["body"]) for n in gitlab.bot_notes(1, 23)]


def test_the_sixth_drill_in_an_hour_is_refused_once_and_allowed_after_the_window(worker, gitlab) -> None:
    """Five drills open; the sixth is refused with one comment naming when to ask again; a seventh within the hour
    gets no comment at all; once the hour has passed the person may open a drill again."""
    for n in range(5):
        process_delivery(comment("@incident-bot drill database-outage", n), {"delivery_id": f"drill-{n}"})
    assert len(drills(gitlab)) == 5
    process_delivery(comment("@incident-bot drill database-outage", 5), {"delivery_id": "drill-5"})
    assert len(drills(gitlab)) == 5
    refusal = replies(gitlab)[-1]
    assert len(replies(gitlab)) == 6
    again = (NOW + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M UTC")
    assert "Sorry @alice, you have opened 5 drills in this project in the last hour" in refusal
    assert f"You may ask again after {again}." in refusal and "drill_limit" in refusal
    process_delivery(comment("@incident-bot drill database-outage", 6), {"delivery_id": "drill-6"})
    assert len(replies(gitlab)) == 6 and len(drills(gitlab)) == 5
    worker.clock = lambda: NOW + timedelta(minutes=61)
    process_delivery(comment("@incident-bot drill database-outage", 7), {"delivery_id": "drill-7"})
    assert len(drills(gitlab)) == 6 and "Drill **" in replies(gitlab)[-1]


def test_the_limit_is_per_person(worker, gitlab) -> None:
    """Another Developer's drills are not counted against alice's (bob is a Developer too)."""
    for n in range(5):
        process_delivery(comment("@incident-bot drill database-outage", n), {"delivery_id": f"a-{n}"})
    process_delivery(comment("@incident-bot drill database-outage", 9, user="bob", uid=8), {"delivery_id": "b-1"})
    assert len(drills(gitlab)) == 6


def test_a_retried_drill_request_counts_once(worker, gitlab) -> None:
    """A request retried after its drill was opened (the reply failed) does not use up a second drill."""
    gitlab.fail("POST", r"/projects/1/issues/23/notes", 500, times=20)
    with pytest.raises(Exception, match="500"):
        process_delivery(comment("@incident-bot drill database-outage", 0), {"delivery_id": "retry-0"})
    gitlab.failures.clear()
    process_delivery(comment("@incident-bot drill database-outage", 0), {"delivery_id": "retry-0"})
    for n in range(1, 5):
        process_delivery(comment("@incident-bot drill database-outage", n), {"delivery_id": f"retry-{n}"})
    assert len(drills(gitlab)) == 5 and all("Drill **" in r for r in replies(gitlab))


def test_ten_refused_commands_from_a_non_member_get_one_answer(worker, gitlab) -> None:
    """A non-member asking ten times on a public project's issue: one refusal is posted, nine are only logged."""
    for n in range(10):
        process_delivery(
            comment("@incident-bot drill database-outage", n, user="mallory", uid=13), {"delivery_id": f"m-{n}"}
        )
    (refusal,) = replies(gitlab)
    assert "only project members with at least Developer access" in refusal
    assert drills(gitlab) == []


def test_refusals_on_an_incident_are_answered_once_and_every_comment_is_recorded(worker, gitlab) -> None:
    """On an incident the unanswered refusals still count as handled in the bot's memory (its note edited, no new
    comment), so reconcile never replays them."""
    gitlab.issues[(1, 23)]["labels"] = ["incident"]
    process_delivery(comment("@incident-bot help", 0, labels=("incident",)), {"delivery_id": "help"})
    for n in range(1, 11):
        data = comment("@incident-bot severity 1", n, user="mallory", uid=13, labels=("incident",))
        process_delivery(data, {"delivery_id": f"s-{n}"})
    notes = replies(gitlab)
    assert sum("only project members with at least Developer access" in r for r in notes) == 1
    assert "severity::1" not in gitlab.labels(1, 23)
    memory = read_memory(gitlab.bot_notes(1, 23)[-1]["body"]) or {}
    assert {str(n) for n in range(5001, 5011)} <= {n.split(":")[0] for n in memory["notes"]}


def test_a_drill_limit_setting_is_checked_with_file_and_line(tmp_path: Path) -> None:
    """`drill_limit` takes a whole number of drills from 1 and a positive window; a mistake names file and line."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    settings = rules / "settings.yml"
    text = settings.read_text()
    settings.write_text(
        text.replace("settings:\n", "settings:\n  drill_limit: {max_per_person: 0, window_minutes: 60}\n", 1)
    )
    with pytest.raises(RulesError) as failed:
        load_rules(rules)
    report = failed.value.report()
    assert "settings.yml:3" in report and "max_per_person" in report, report
    settings.write_text(
        text.replace("settings:\n", "settings:\n  drill_limit: {max_per_person: 2, window_minutes: 30}\n", 1)
    )
    assert drill_limit(load_rules(rules)) == (2, 30.0)


def test_removing_the_drill_label_while_escalating_notifies_training_only(
    settings, rules, redis_conn, gitlab, monkeypatch
) -> None:
    """A declared severity 3 drill; one Issue Hook removes `drill` and sets severity 1: the escalation reaches the
    training receiver only, never responders or executives."""
    receivers = {name: HttpReceiver() for name in ("RESPONDERS", "EXECUTIVES", "TRAINING", "RELIABILITY")}
    try:
        for name in CHANNELS:
            monkeypatch.delenv(f"INCIDENT_BOT_CHANNEL_{name}", raising=False)
        for name, receiver in receivers.items():
            monkeypatch.setenv(f"INCIDENT_BOT_CHANNEL_{name}", receiver.url)
        runtime = build_runtime(settings, rules, redis_conn)
        runtime.clock = lambda: NOW
        install(runtime)
        drill = ["incident", "drill", "severity::3", "incident::identification"]
        gitlab.issues[(1, 23)].update(labels=list(drill), issue_type="incident")
        opened = payload("issue.open.incident")
        opened["object_attributes"].update(iid=23, labels=[{"title": x} for x in drill])
        opened["labels"] = [{"title": x} for x in drill]
        process_delivery(json.dumps(opened).encode(), {"delivery_id": "open"})
        now = ["incident", "severity::1", "incident::identification"]
        gitlab.issues[(1, 23)]["labels"] = list(now)
        update = payload("issue.update.severity")
        update["object_attributes"].update(iid=23, labels=[{"title": x} for x in now])
        update["labels"] = [{"title": x} for x in now]
        update["changes"]["labels"] = {
            "previous": [{"title": x} for x in drill],
            "current": [{"title": x} for x in now],
        }
        process_delivery(json.dumps(update).encode(), {"delivery_id": "undrill"})
        SimpleWorker([Queue("incident-bot-notify", connection=redis_conn)], connection=redis_conn).work(
            burst=True, logging_level="WARNING"
        )
        told = {name: [str(m.json()) for m in r.delivered] for name, r in receivers.items()}
        assert any("severity 1" in m.lower() or "escalated" in m.lower() for m in told["TRAINING"]), told
        assert told["RESPONDERS"] == [] and told["EXECUTIVES"] == [] and told["RELIABILITY"] == []
    finally:
        for receiver in receivers.values():
            receiver.close()
