"""`@incident-bot drill <scenario>`: through the edge, real Redis and a real RQ worker, GitLab faked at HTTP.

A comment on any issue of the project (an incident or not) opens a drill issue, which the bot then
declares like any incident; below Developer the command is refused; a retried request opens one drill.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import responses
from redis import Redis
from rq import Queue

from service.incident import read_memory
from service.rules import RuleSet
from service.web.app import create_app
from service.worker import build_runtime, install, process_delivery
from tests.conftest import GITLAB, NOW, hook_headers
from tests.drillcomments import as_body, drills, request, settle
from tests.fakegitlab import FakeGitLab, install_responses

DRILL_TITLE = "[DRILL] Primary database unreachable"


@pytest.fixture()
def gitlab() -> Iterator[FakeGitLab]:
    model = FakeGitLab()
    issue = model.add_issue(1, 23, title="Q3 training plan")
    issue["issue_type"] = "issue"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")  # notification receivers, when a test has them
        install_responses(rsps, model, GITLAB)
        yield model


@pytest.fixture()
def worker(settings, rules: RuleSet, redis_conn: Redis, gitlab, monkeypatch):
    for name in ("RESPONDERS", "EXECUTIVES", "RELIABILITY", "SIRT", "SUPPORT", "TRAINING"):
        monkeypatch.delenv(f"INCIDENT_BOT_CHANNEL_{name}", raising=False)
    runtime = build_runtime(settings, rules, redis_conn)
    runtime.clock = lambda: NOW
    install(runtime)
    return runtime


def test_a_comment_on_an_issue_that_is_no_incident_opens_a_declared_drill(
    settings, rules, redis_conn, worker, gitlab
) -> None:
    """The edge admits the request, the worker opens `[DRILL] ...` with the drill labels and the bot declares it."""
    app = create_app(settings, connection=redis_conn, rules=rules).test_client()
    answer = app.post("/webhook", data=as_body(request()), headers=hook_headers("Note Hook", key="drill-1"))
    assert answer.status_code == 202, answer.json
    settle(redis_conn)
    (drill,) = drills(gitlab)
    assert drill["title"] == DRILL_TITLE
    assert set(drill["labels"]) >= {"incident", "drill", "incident-category::availability", "reliability"}
    assert "<!-- incident-bot:drill database-outage -->" in drill["description"]
    scenario = rules.drills["database-outage"]
    assert scenario.description.split()[0] in drill["description"]
    # Participants are not told the answers: no expected severity, no injects, no expected phases.
    assert not any(i.text[:30] in drill["description"] for i in scenario.injects)
    (opened,) = [c.body for c in gitlab.calls if c.method == "POST" and c.path == "/projects/1/issues"]
    assert "severity::" not in str(opened["labels"]) and "by_minutes" not in drill["description"]
    # The requesting issue gets the reply with the link, and a link to the drill; it is not made an incident.
    (reply,) = gitlab.bot_notes(1, 23)
    assert (
        f"Drill **Primary database unreachable** (`database-outage`) opened by @alice: {drill['web_url']}"
        in (reply["body"])
    )
    assert (1, drill["iid"]) in gitlab.links[(1, 23)] and "incident" not in gitlab.labels(1, 23)
    # The drill is declared like any incident: the bot's memory, its checklist, staffing from the rotations.
    memory = read_memory(gitlab.bot_notes(1, drill["iid"])[0]["body"])
    assert memory is not None and memory["declared"] is True and f"drill-open-1-{drill['iid']}" in memory["deliveries"]
    assert "incident declared by @alice" in memory["timeline"][0]["what"]
    assert drill["assignees"], "the roles were staffed"


def test_a_plain_comment_on_an_issue_that_is_no_incident_is_still_ignored(settings, rules, redis_conn) -> None:
    """Only a line starting `@name drill` is admitted; other comments and mentions stay out of the queue."""
    app = create_app(settings, connection=redis_conn, rules=rules).test_client()
    for note in ("Hello world", "see @incident-bot drill later", "@incident-bot severity 1", "@incident-bot drilling"):
        answer = app.post("/webhook", data=as_body(request(note)), headers=hook_headers("Note Hook"))
        assert answer.status_code == 200 and (answer.json or {}).get("status") == "ignored", note
    answer = app.post(
        "/webhook",
        data=as_body(request("Let's practise.\n  @incident-bot: drill leaked-credential")),
        headers=hook_headers("Note Hook"),
    )
    assert answer.status_code == 202


def test_the_command_is_refused_below_developer(worker, gitlab) -> None:
    """A Reporter (and a non-member) is refused, as for every changing command; nothing is opened."""
    gitlab.members[13] = 20  # mallory: Reporter
    process_delivery(as_body(request(user="mallory", uid=13)), {"delivery_id": "r-1"})
    (reply,) = gitlab.bot_notes(1, 23)
    assert "only project members with at least Developer access" in reply["body"]
    assert drills(gitlab) == [] and not any(c.method == "POST" and c.path == "/projects/1/issues" for c in gitlab.calls)


def test_the_access_level_is_asked_afresh_for_a_drill(worker, gitlab, redis_conn) -> None:
    """A cached Developer level from a harmless command does not open a drill after the member was removed."""
    redis_conn.set("incident-bot:access:1:13", 40)
    process_delivery(as_body(request(user="mallory", uid=13)), {"delivery_id": "r-2"})
    assert drills(gitlab) == []


def test_an_unknown_scenario_lists_the_known_ones(worker, gitlab) -> None:
    """A scenario the rules do not define: the usage with every scenario, and no issue."""
    process_delivery(as_body(request("@incident-bot drill volcano")), {"delivery_id": "u-1"})
    (reply,) = gitlab.bot_notes(1, 23)
    assert (
        "`@incident-bot drill <scenario>` with a scenario among `database-outage`, `leaked-credential`, "
        in (reply["body"])
    )
    assert drills(gitlab) == []


def test_a_retried_request_opens_one_drill(worker, gitlab, redis_conn) -> None:
    """The reply failed after the drill was opened: the retry finds that drill (its request marker), opens none."""
    gitlab.fail("POST", r"/projects/1/issues/23/notes", 500, times=20)  # the session's own retries too
    with pytest.raises(Exception, match="500"):
        process_delivery(as_body(request()), {"delivery_id": "again-1"})
    assert len(drills(gitlab)) == 1
    gitlab.failures.clear()
    process_delivery(as_body(request()), {"delivery_id": "again-1"})
    (drill,) = drills(gitlab)
    assert drill["web_url"] in gitlab.bot_notes(1, 23)[0]["body"]
    # A redelivery after that is recognised as applied; the declaration was queued once.
    assert process_delivery(as_body(request()), {"delivery_id": "again-1"}) == "already applied"
    deliveries = Queue("incident-bot", connection=redis_conn)
    assert [j.meta.get("delivery_id") or j.args[1]["delivery_id"] for j in deliveries.jobs] == [
        f"drill-open-1-{drill['iid']}"
    ]
    # A second, separate request (a new comment) opens a second drill.
    second = request()
    second["object_attributes"]["id"] += 1
    process_delivery(as_body(second), {"delivery_id": "again-2"})
    assert len(drills(gitlab)) == 2


def test_a_drill_asked_for_on_an_incident_is_noted_in_its_timeline(worker, gitlab) -> None:
    """On an incident the reply is part of the bot's usual comment, and the timeline records the request."""
    data = request("@incident-bot drill leaked-credential")
    data["issue"]["labels"] = [{"title": "incident"}]
    gitlab.issues[(1, 23)]["labels"] = ["incident"]
    process_delivery(as_body(data), {"delivery_id": "inc-1"})
    (drill,) = drills(gitlab)
    assert {"drill", "incident-category::security", "security-incident"} <= set(drill["labels"])
    memory = read_memory(gitlab.bot_notes(1, 23)[-1]["body"])
    assert memory is not None and any(
        "drill `leaked-credential` opened by @alice" in e["what"] for e in memory["timeline"]
    )


def test_a_non_incident_issue_gets_no_process_from_the_request(worker, gitlab) -> None:
    """The requesting issue keeps its labels and gets no severity sync, staffing or checklist."""
    gitlab.issues[(1, 23)]["labels"] = ["severity::2"]
    data = copy.deepcopy(request())
    data["issue"]["labels"] = [{"title": "severity::2"}]
    process_delivery(as_body(data), {"delivery_id": "n-1"})
    assert gitlab.labels(1, 23) == {"severity::2"}
    assert not any(c.path.endswith("graphql") for c in gitlab.calls)
    assert not any(c.method == "PUT" and c.path == "/projects/1/issues/23" for c in gitlab.calls)
    (reply,) = gitlab.bot_notes(1, 23)
    assert "checklist" not in reply["body"].lower() and "Drill **" in reply["body"]
