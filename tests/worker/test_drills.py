"""Drills once opened: notifications reach the training channel only, injects are posted on a (fast) clock.

Real Redis and real RQ workers with the scheduler; GitLab faked at HTTP; channels are real local
receivers, one per channel, so a message sent anywhere but `training` is seen.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import responses
import yaml
from redis import Redis
from rq import Queue

from service import logs
from service.durations import human_duration
from service.events import parse_event
from service.ops.drill import declaration_payload, declare
from service.plan import Notify, Plan
from service.queue import EventQueue
from service.rules import RuleSet, load_rules
from service.worker import build_runtime, install, process_delivery
from service.worker.drills import inject_job_id
from tests.conftest import GITLAB, NOW, payload
from tests.drillcomments import as_body, drills, request, settle
from tests.fakegitlab import FakeGitLab, install_responses
from tests.receivers import HttpReceiver
from tests.rulesdir import TEST_RULES

CHANNELS = ("responders", "executives", "reliability", "sirt", "support", "training")
NOTIFY = "incident-bot-notify"


@pytest.fixture()
def gitlab() -> Iterator[FakeGitLab]:
    """Issue 1#23 is no incident (the drill is asked for there); the channel receivers are real servers."""
    model = FakeGitLab()
    model.add_issue(1, 23, title="Q3 training plan")["issue_type"] = "issue"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        install_responses(rsps, model, GITLAB)
        yield model


@pytest.fixture()
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, HttpReceiver]]:
    """A real receiver behind every channel of the shipped rules."""
    found = {name: HttpReceiver() for name in CHANNELS}
    for name, receiver in found.items():
        monkeypatch.setenv(f"INCIDENT_BOT_CHANNEL_{name.upper()}", receiver.url)
    for name in ("DEVELOPMENT", "QUALITY"):
        monkeypatch.delenv(f"INCIDENT_BOT_CHANNEL_{name}", raising=False)
    yield found
    for receiver in found.values():
        receiver.close()


def start(settings, rules: RuleSet, conn: Redis, minute_seconds: float = 60.0):
    runtime = build_runtime(replace(settings, drill_minute_seconds=minute_seconds), rules, conn)
    runtime.clock = lambda: NOW
    install(runtime)
    return runtime


def open_drill(gitlab, conn: Redis, scenario: str = "database-outage") -> dict[str, Any]:
    """Ask for a drill on issue 23 and let the worker open and declare it."""
    process_delivery(as_body(request(f"@incident-bot drill {scenario}")), {"delivery_id": f"ask-{scenario}"})
    drill = drills(gitlab)[-1]
    settle(conn, lambda: bool(gitlab.bot_notes(1, drill["iid"])))
    return drill


def labelled(drill: dict[str, Any], add: list[str], delivery: str) -> None:
    """A person adds `add` to the drill's labels (the Issue Hook GitLab sends), processed by the worker."""
    data = payload("issue.update.severity")
    before = list(drill["labels"])
    drill["labels"] = before + [label for label in add if label not in before]
    attrs = data["object_attributes"]
    attrs.update(iid=drill["iid"], title=drill["title"], description=drill["description"], url=drill["web_url"])
    attrs["labels"] = [{"title": label} for label in drill["labels"]]
    data["labels"] = attrs["labels"]
    data["changes"] = {"labels": {"previous": [{"title": x} for x in before], "current": attrs["labels"]}}
    data["project"]["id"] = attrs["project_id"] = 1
    process_delivery(json.dumps(data).encode(), {"delivery_id": delivery})


def comment(drill: dict[str, Any], note: str, delivery: str) -> None:
    """Alice comments `note` on the drill."""
    data = request(note)
    data["issue"].update(iid=drill["iid"], title=drill["title"], description=drill["description"])
    data["issue"]["labels"] = [{"title": label} for label in drill["labels"]]
    process_delivery(as_body(data), {"delivery_id": delivery})


def heard(receivers: dict[str, HttpReceiver]) -> dict[str, int]:
    return {name: len(r.delivered) for name, r in receivers.items() if r.delivered}


def test_a_drill_tells_the_training_channel_only(settings, rules, redis_conn, gitlab, receivers) -> None:
    """Declared, escalated to severity 1, a status update and a page: all of it to `training`, nothing elsewhere."""
    start(settings, rules, redis_conn)
    drill = open_drill(gitlab, redis_conn)
    labelled(drill, ["severity::1"], "sev-1")
    comment(drill, "@incident-bot update Failing over to the replica", "upd-1")
    comment(drill, "@incident-bot page database", "page-1")
    settle(redis_conn)
    assert set(heard(receivers)) == {"training"}
    texts = [json.dumps(r.json()) for r in receivers["training"].delivered]
    for what in ("Incident declared", "Failing over to the replica", "Database reliability paged"):
        assert any(what in t for t in texts), (what, texts)
    assert any("DRILL" in t for t in texts)
    # The same steps on a real incident reach the real channels (the receivers work).
    real = gitlab.issues[(1, 23)]
    real["labels"] = ["incident"]
    labelled(real, ["severity::1"], "real-1")
    settle(redis_conn)
    assert {"responders", "executives"} <= set(heard(receivers))


def test_without_a_training_channel_a_drill_tells_nobody(
    settings, redis_conn, gitlab, receivers, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No `training` channel declared: the drill's notifications are dropped, with the reason logged."""
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    notifications = yaml.safe_load((folder / "notifications.yml").read_text())
    del notifications["channels"]["training"]
    (folder / "notifications.yml").write_text(yaml.safe_dump(notifications))
    start(settings, load_rules(folder), redis_conn)
    with caplog.at_level(logging.WARNING, logger="incident_bot.plan"):
        drill = open_drill(gitlab, redis_conn)
        labelled(drill, ["severity::1"], "sev-1")
        settle(redis_conn)
    assert heard(receivers) == {}
    assert "notifications dropped" in caplog.text and "no `training` channel is declared" in caplog.text
    assert "no channel only" in gitlab.bot_notes(1, 23)[0]["body"]


def test_the_last_guard_holds_a_notification_planned_for_a_real_channel(
    settings, rules, redis_conn, gitlab, receivers
) -> None:
    """Follow-ups refuse a drill's notification to any channel but training, whatever a plan says."""
    runtime = start(settings, rules, redis_conn)
    drill = open_drill(gitlab, redis_conn)
    settle(redis_conn)
    before = heard(receivers)
    data = request("hello")
    data["issue"].update(iid=drill["iid"], labels=[{"title": label} for label in drill["labels"]])
    event = parse_event(data, delivery_id="guard-1")
    delivery = runtime.delivery(event, logs.bind(logging.getLogger("test"), delivery="guard-1"), "incident-bot")
    assert runtime.followups is not None
    runtime.followups(Plan((Notify("x", "responders", "declared"),)), delivery, delivery.load_state())
    settle(redis_conn)
    assert heard(receivers) == before


def inject_notes(gitlab, iid: int) -> list[str]:
    return [n["body"] for n in gitlab.bot_notes(1, iid) if n["body"].startswith("**Drill inject**")]


def test_injects_are_posted_in_order_on_a_fast_clock_and_never_twice(settings, rules, redis_conn, gitlab) -> None:
    """A drill minute of 10 ms: every inject is posted with its time; a redelivered declaration schedules none."""
    start(settings, rules, redis_conn, minute_seconds=0.01)
    drill = open_drill(gitlab, redis_conn)
    scenario = rules.drills["database-outage"]
    settle(redis_conn, lambda: len(inject_notes(gitlab, drill["iid"])) == len(scenario.injects))
    notes = inject_notes(gitlab, drill["iid"])
    assert notes[0] == f"**Drill inject** (T+5 min): {scenario.injects[0].text}"
    assert [n.split(")")[0] for n in notes] == [
        f"**Drill inject** (T+{human_duration(i.after_minutes)}" for i in scenario.injects
    ]
    declaration = next(n for n in gitlab.bot_notes(1, drill["iid"]) if "incident-bot" in n["body"])
    assert f"the bot will post {len(scenario.injects)} new developments" in declaration["body"]
    # The declaration redelivered, as if the worker had died before its note: the injects stay scheduled once.
    redis_conn.delete(f"incident-bot:seen:drill-open-1-{drill['iid']}")
    for index in range(len(scenario.injects)):  # and days later: RQ has forgotten the finished inject jobs
        redis_conn.delete(f"rq:job:{inject_job_id(1, drill['iid'], index)}")
    issue = (drill["title"], drill["description"], drill["labels"])
    declare(EventQueue(redis_conn), declaration_payload(1, "group/project", drill["iid"], drill["web_url"], issue))
    gitlab.notes[(1, drill["iid"])] = []  # the bot's memory lost as well: the declaration is planned again
    settle(redis_conn)
    settle(redis_conn, lambda: Queue(NOTIFY, connection=redis_conn).scheduled_job_registry.count == 0)
    assert inject_notes(gitlab, drill["iid"]) == []


def test_no_inject_after_the_drill_is_closed(settings, rules, redis_conn, gitlab) -> None:
    """The drill closed before its injects fell due: each inject job runs and posts nothing."""
    start(settings, rules, redis_conn, minute_seconds=0.02)
    drill = open_drill(gitlab, redis_conn)
    gitlab.issues[(1, drill["iid"])]["state"] = "closed"
    notify = Queue(NOTIFY, connection=redis_conn)
    settle(redis_conn, lambda: notify.scheduled_job_registry.count == 0 and notify.count == 0)
    assert inject_notes(gitlab, drill["iid"]) == []
    finished = [notify.fetch_job(i) for i in notify.finished_job_registry.get_job_ids()]
    results = [j.return_value() for j in finished if j is not None and (j.func_name or "").endswith("post_inject")]
    assert results and set(results) == {"skipped: no longer an open drill"}


def test_no_inject_once_it_is_no_longer_a_drill(settings, rules, redis_conn, gitlab) -> None:
    """The drill label removed (the issue turned into something else): its injects stay silent."""
    start(settings, rules, redis_conn, minute_seconds=0.02)
    drill = open_drill(gitlab, redis_conn)
    gitlab.issues[(1, drill["iid"])]["labels"].remove("drill")
    notify = Queue(NOTIFY, connection=redis_conn)
    settle(redis_conn, lambda: notify.scheduled_job_registry.count == 0 and notify.count == 0)
    assert inject_notes(gitlab, drill["iid"]) == []


def test_a_drill_is_indexed_as_one_and_left_out_of_report_and_digest(
    settings, rules, redis_conn, gitlab, tmp_path: Path
) -> None:
    """Through the real job with an index: the drill's row says drill; `report` and the digest count only the
    real incident beside it."""
    from datetime import UTC, datetime, timedelta

    from service.reports.digest import compose
    from service.reports.figures import GroupBy, report_from_store
    from service.reports.targets import targets_from_rules
    from service.store import open_store
    from service.worker.index import DeliveryIndex

    url = f"sqlite:///{tmp_path / 'index.db'}"
    runtime = start(settings, rules, redis_conn)
    runtime.index = DeliveryIndex(lambda: open_store(url))
    drill = open_drill(gitlab, redis_conn)
    gitlab.add_issue(1, 24, labels=["incident"], title="Checkout returns 500 errors")
    data = payload("issue.open.incident")
    data["object_attributes"]["iid"] = 24
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # the drill's payload carries the time too
    data["object_attributes"].update(created_at=stamp, updated_at=stamp)
    process_delivery(json.dumps(data).encode(), {"delivery_id": "real-24"})
    store = open_store(url)
    rows = {row.iid: row for row in store.incidents()}
    assert rows[drill["iid"]].drill is True and rows[24].drill is False
    now = max(row.started_at for row in rows.values() if row.started_at) + timedelta(hours=1)
    start_of_time = now - timedelta(days=3650)
    targets = targets_from_rules(rules)
    report = report_from_store(store, start=start_of_time, end=now, by=GroupBy.SEVERITY, targets=targets, now=now)
    assert report.incidents == 1
    digest = compose(store, rules, now)
    assert "| incidents | 1 |" in digest.markdown and "DRILL" not in digest.markdown
    store.engine.dispose()
