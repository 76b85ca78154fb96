"""`incident-bot reconcile`: incidents GitLab never delivered are brought up to date through the normal queue.

The fake GitLab runs over HTTP (the GitLab session real), the queue is the real EventQueue on the real Redis,
and the synthetic deliveries are applied by the real delivery job in an RQ worker.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from redis import Redis
from rq import Queue, SimpleWorker

from service.bounds import parse_duration
from service.config import Settings
from service.events import PayloadError, is_incident, issue_type_of, parse_event, reference
from service.incident import Note, find_memory, read_memory
from service.ops.comments import unhandled_commands
from service.ops.reconcile import (
    delivery_id,
    describe,
    difference,
    reconcile_periodically,
    synthetic_payload,
)
from service.queue import job_id_for, notify_queue_name
from service.web.edge import Accepted, classify
from service.worker import build_runtime, install
from tests.conftest import SECRET, hook_headers, payload, test_redis_url
from tests.fakegitlab import BOT, FakeGitLab, FakeGitLabServer
from tests.ops.helpers import CLOCK, QUEUE, project
from tests.receivers import HttpReceiver
from tests.rulesdir import TEST_RULES


@pytest.fixture()
def settings(server: FakeGitLabServer) -> Settings:
    """The worker's settings point at the fake GitLab's HTTP server (overrides conftest's)."""
    return Settings(
        gitlab_url=server.url,
        gitlab_token="test-token",
        webhook_secret=SECRET,
        redis_url=test_redis_url(),
        rules_dir=TEST_RULES,
    )


def work(conn: Redis) -> None:
    """Run every queued delivery with the real job, in an RQ worker in this process."""
    SimpleWorker([Queue(QUEUE, connection=conn)], connection=conn).work(burst=True, logging_level="WARNING")


def memory(fake: FakeGitLab, iid: int) -> dict:
    notes = [Note(n["id"], n["body"], n["author"]["username"]) for n in reversed(fake.notes[(1, iid)])]
    return find_memory(notes, BOT["username"])[0]


def test_incident_that_exists_only_in_gitlab_is_declared(reconciler, fake, redis_conn) -> None:
    """An incident opened while the hook was down: reconcile queues it, the worker declares and staffs it."""
    fake.add_issue(1, 40, labels=["incident"], title="Checkout is down")
    repairs = reconciler.run(project(reconciler))
    assert [(r.reference, r.action, r.outcome) for r in repairs] == [("group/project#40", "open", "queued")]
    assert "never handled" in describe(repairs)
    work(redis_conn)
    labels = fake.labels(1, 40)
    assert {"severity::3", "incident::identification"} <= labels
    assert [a["username"] for a in fake.issues[(1, 40)]["assignees"]] == ["eoc-carol"]
    (note,) = fake.bot_notes(1, 40)
    assert "made these changes" in note["body"]
    assert memory(fake, 40)["declared"] is True


def test_second_reconcile_writes_nothing(reconciler, fake, redis_conn) -> None:
    """Once the incident is up to date, another pass queues nothing and GitLab sees no write."""
    fake.add_issue(1, 40, labels=["incident"])
    reconciler.run(project(reconciler))
    work(redis_conn)
    writes = len(fake.writes())
    again = reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
    assert again == []
    work(redis_conn)
    assert len(fake.writes()) == writes
    assert "nothing queued" in describe(again)


def test_reconcile_skips_what_the_bot_already_handled_and_non_incidents(reconciler, fake, redis_conn) -> None:
    """A declared incident matching its memory and a plain issue produce no repair."""
    fake.add_issue(1, 41, labels=["incident"])
    reconciler.run(project(reconciler))
    work(redis_conn)
    fake.add_issue(1, 42, labels=["bug"], issue_type="issue")
    assert reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1)) == []


def test_a_close_missed_while_the_hook_was_down_is_replayed(reconciler, fake, redis_conn) -> None:
    """Closed in GitLab after the bot declared it: reconcile replays a close and the phase moves to post-incident."""
    fake.add_issue(1, 43, labels=["incident"])
    reconciler.run(project(reconciler))
    work(redis_conn)
    fake.issues[(1, 43)]["state"] = "closed"
    fake.issues[(1, 43)]["updated_at"] = fake.tick()
    (repair,) = reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
    assert (repair.action, repair.why) == ("close", "closed since the bot last handled it")
    work(redis_conn)
    assert "incident::post-incident" in fake.labels(1, 43)
    assert memory(fake, 43)["phase"] == "post-incident"


def test_a_severity_label_changed_while_down_is_replayed(reconciler, fake, redis_conn) -> None:
    """Someone set severity::1 while the hook was down: the escalation is handled (incident manager staffed)."""
    fake.add_issue(1, 44, labels=["incident"])
    reconciler.run(project(reconciler))
    work(redis_conn)
    labels = fake.issues[(1, 44)]["labels"]
    labels.remove("severity::3")
    labels.append("severity::1")
    fake.issues[(1, 44)]["updated_at"] = fake.tick()
    (repair,) = reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
    assert repair.action == "update" and "severity is 1" in repair.why
    work(redis_conn)
    assert memory(fake, 44)["severity"] == 1
    assert "incident-manager" in memory(fake, 44)["staffed"]


@pytest.mark.parametrize("real_first", [True, False], ids=["real-then-reconcile", "reconcile-then-real"])
def test_reconcile_racing_a_real_delivery_applies_once(reconciler, fake, redis_conn, real_first) -> None:
    """The real Issue Hook and reconcile's synthetic one for the same issue, either order: applied once."""
    fake.add_issue(1, 45, labels=["incident"])
    real = payload("issue.open.incident")
    real["project"]["id"] = 1
    real["object_attributes"].update(iid=45, labels=[{"title": "incident"}])
    real["labels"] = [{"title": "incident"}]

    def deliver() -> str:
        meta = {"delivery_id": "real-45", "event": "Issue Hook"}
        body = json.dumps(real).encode()
        return reconciler.queue.enqueue(body, meta, delivery_id="real-45", issue_key="1:45", actor="alice").outcome

    if real_first:
        assert deliver() == "queued"
    (repair,) = reconciler.run(project(reconciler))
    if not real_first:
        assert deliver() == "deferred"  # behind reconcile's: the same per-issue order
    assert repair.outcome == ("deferred" if real_first else "queued")
    work(redis_conn)
    assert len(fake.bot_notes(1, 45)) == 1
    puts = [c for c in fake.writes() if c.method == "PUT" and c.path == "/projects/1/issues/45"]
    assert len(puts) == 1
    assert reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1)) == []


def test_the_same_repair_is_queued_once(reconciler, fake, redis_conn) -> None:
    """Two passes before any worker runs (or two workers' passes) queue the repair once: a deterministic id."""
    issue = fake.add_issue(1, 46, labels=["incident"])
    first = reconciler.run(project(reconciler))
    second = reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
    assert [r.outcome for r in first] == ["queued"] and [r.outcome for r in second] == ["duplicate"]
    assert first[0].delivery_id == delivery_id(1, 46, issue["updated_at"])
    assert Queue(QUEUE, connection=redis_conn).count == 1


def test_listing_follows_pages_and_the_since_window(reconciler, fake, redis_conn, monkeypatch) -> None:
    """Every page of the listing is read; an incident not updated since the window is left out."""
    monkeypatch.setattr("service.gitlab.session.PAGE", 2)
    for iid in range(50, 55):
        fake.add_issue(1, iid, labels=["incident"])
    old = fake.issues[(1, 50)]
    old["updated_at"] = "2026-11-20T00:00:00.000Z"
    repairs = reconciler.run(project(reconciler), since=datetime(2026, 11, 26, tzinfo=UTC))
    assert sorted(r.reference for r in repairs) == [f"group/project#{i}" for i in range(51, 55)]
    # Four incidents in the window, two a page: page 2 is read, and GitLab's empty X-Next-Page ends the listing.
    assert any(c.query.get("page") == "2" for c in fake.calls)
    assert not any(c.query.get("page") == "3" for c in fake.calls)


def test_incident_by_type_without_the_label_is_found(reconciler, fake, redis_conn) -> None:
    """An issue of type Incident without the `incident` label is an incident too."""
    fake.add_issue(1, 47, labels=[])
    (repair,) = reconciler.run(project(reconciler))
    work(redis_conn)
    assert repair.reference == "group/project#47"
    assert (read_memory(fake.bot_notes(1, 47)[0]["body"]) or {}).get("declared") is True


def test_periodic_pass_runs_once_per_period_across_workers(reconciler, fake, redis_conn) -> None:
    """Two schedulers firing in the same period: one pass runs, the other skips; the lock is released after."""
    fake.add_issue(1, 48, labels=["incident"])
    ns = project(reconciler)
    first = reconcile_periodically(reconciler, [ns])
    assert first is not None and [r.reference for r in first] == ["group/project#48"]
    assert reconcile_periodically(reconciler, [ns]) is None
    assert not redis_conn.exists("incident-bot:ops:reconcile:lock")


def test_the_pass_starts_where_the_last_one_ended(reconciler, fake, redis_conn) -> None:
    """The next pass asks GitLab for issues updated since the previous pass (less a small overlap)."""
    reconciler.run(project(reconciler))
    since = reconciler.since(project(reconciler))
    assert CLOCK - timedelta(minutes=5) < since < CLOCK
    reconciler.run(project(reconciler))
    listing = [c for c in fake.calls if c.path == "/projects/1/issues"][-1]
    assert listing.query["updated_after"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_difference_names_what_changed(rules) -> None:
    """Pure comparison of an issue with the bot's memory."""
    handled = {"declared": True, "severity": 3, "phase": "identification", "category": None}
    issue = {"labels": ["incident", "severity::3", "incident::identification"], "state": "opened"}
    assert difference(issue, handled, rules) is None
    assert difference(issue, {}, rules) == ("never handled by the bot", "open")
    closed = difference({**issue, "state": "closed"}, handled, rules)
    assert closed is not None and closed[1] == "close"
    resolved = {**handled, "phase": "post-incident"}
    reopened = {"labels": ["incident", "severity::3", "incident::post-incident"], "state": "opened"}
    assert difference(reopened, resolved, rules) == ("reopened since the bot last handled it", "reopen")


@pytest.mark.parametrize(("text", "expected"), [("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)])
def test_parse_duration(text: str, expected: int) -> None:
    """--since takes s/m/h/d/w and combinations."""
    assert parse_duration(text).total_seconds() == expected


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "5x", "-1h"])
def test_parse_duration_refuses_nonsense(text: str) -> None:
    """Anything else is a ValueError showing the accepted form."""
    with pytest.raises(ValueError, match="e.g. 30m"):
        parse_duration(text)


LABEL = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40)
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)


@examples(max_examples=200, deadline=None)
@given(
    iid=st.integers(min_value=1, max_value=2**31 - 1),
    project_id=st.integers(min_value=1, max_value=2**31 - 1),
    labels=st.lists(LABEL, max_size=8, unique=True),
    title=TEXT,
    description=TEXT,
    state=st.sampled_from(["opened", "closed"]),
    issue_type=st.sampled_from(["incident", "issue", "task"]),
    severity=st.sampled_from(["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL", None]),
    action=st.sampled_from(["open", "update", "close", "reopen"]),
)
def test_synthetic_delivery_is_what_the_worker_reads(
    iid, project_id, labels, title, description, state, issue_type, severity, action
) -> None:
    """Whatever GitLab says about an issue, the synthetic Issue Hook parses to an Event of that same issue."""
    issue = {
        "id": 7,
        "iid": iid,
        "project_id": project_id,
        "title": title,
        "description": description,
        "state": state,
        "labels": labels,
        "issue_type": issue_type,
        "severity": severity,
        "confidential": False,
        "web_url": "https://gitlab.example.com/g/p/-/issues/1",
        "updated_at": "2026-11-27T10:00:00.000Z",
    }
    body = json.dumps(synthetic_payload(issue, "g/p", action)).encode()
    ref = reference(json.loads(body))
    event = parse_event(json.loads(body), delivery_id=delivery_id(project_id, iid, issue["updated_at"]))
    assert (ref.project_id, ref.iid, ref.actor) == (project_id, iid, "")
    assert (event.project_id, event.iid, event.action, event.state) == (project_id, iid, action, state)
    assert event.labels == frozenset(labels) and event.title == title
    assert event.is_incident == (issue_type == "incident" or "incident" in labels)
    assert job_id_for(event.delivery_id) == event.delivery_id  # readable, not hashed


@examples(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["issue", "work_item"]),
    type_field=st.sampled_from(["type", "issue_type"]),
    type_value=st.sampled_from([None, "Incident", "incident", "INCIDENT", "Issue", "issue", "ISSUE", "task"]),
    labels=st.lists(st.sampled_from(["incident", "Incident", "INCIDENT", "incidents", "sev1"]), unique=True),
)
def test_edge_and_reconcile_agree_on_what_is_an_incident(
    kind: str, type_field: str, type_value: str | None, labels: list[str]
) -> None:
    """The same issue fields, read by the edge from a hook and by reconcile from the REST API: one verdict."""
    issue = {
        "id": 7,
        "iid": 3,
        "project_id": 1,
        "title": "t",
        "description": "",
        "state": "opened",
        "labels": labels,
        type_field: type_value,
        "updated_at": "2026-11-27T10:00:00.000Z",
    }
    hook = payload("issue.open.docs")
    hook.pop("changes")
    hook["object_kind"] = kind
    hook["object_attributes"].pop("type")
    hook["object_attributes"][type_field] = type_value
    hook["labels"] = hook["object_attributes"]["labels"] = [{"title": name} for name in labels]
    edge = isinstance(classify(hook_headers(), json.dumps(hook).encode()), Accepted)
    reconciled = parse_event(json.loads(json.dumps(synthetic_payload(issue, "g/p", "update")))).is_incident
    assert edge == reconciled == is_incident(issue_type_of(issue), labels)


@given(st.text(max_size=30))
def test_parse_duration_never_fails_another_way(text: str) -> None:
    """Any text is a duration or a ValueError naming the accepted form, never another exception."""
    try:
        assert parse_duration(text).total_seconds() >= 0
    except ValueError as exc:
        assert "e.g. 30m" in str(exc)


def test_reconciled_incident_is_announced_once(reconciler, fake, settings, rules, redis_conn, monkeypatch) -> None:
    """Declared through reconcile, the incident is announced to responders (a real local receiver), once."""
    responders = HttpReceiver()
    try:
        monkeypatch.setenv("INCIDENT_BOT_CHANNEL_RESPONDERS", responders.url)
        monkeypatch.delenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", raising=False)
        worker_runtime = build_runtime(settings, rules, redis_conn)
        worker_runtime.clock = lambda: CLOCK
        install(worker_runtime)
        fake.add_issue(1, 49, labels=["incident"], title="Payments time out")
        reconciler.run(project(reconciler))
        reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
        queues = [Queue(name, connection=redis_conn) for name in (QUEUE, notify_queue_name(QUEUE))]
        SimpleWorker(queues, connection=redis_conn).work(burst=True, logging_level="WARNING")
        (message,) = responders.delivered
        assert "Incident declared" in str(message.json()) and "Payments time out" in str(message.json())
    finally:
        responders.close()


def test_an_unreadable_issue_does_not_stop_the_pass(reconciler, fake, redis_conn) -> None:
    """GitLab refuses one issue's notes: the others are repaired, and the window stays for the next pass."""
    fake.add_issue(1, 70, labels=["incident"])
    fake.add_issue(1, 71, labels=["incident"])
    fake.fail("GET", r"/projects/1/issues/70/notes", 403)
    repairs = reconciler.run(project(reconciler))
    assert sorted((r.reference, r.outcome) for r in repairs) == [
        ("group/project#70", "not checked"),
        ("group/project#71", "queued"),
    ]
    assert "#70: not checked" in describe(repairs)
    assert not redis_conn.exists("incident-bot:ops:reconcile:last:projects:1")


def test_dry_run_queues_nothing(reconciler, fake, redis_conn) -> None:
    """A dry run says what is out of date and queues nothing."""
    fake.add_issue(1, 72, labels=["incident"])
    reconciler.dry_run = True
    (repair,) = reconciler.run(project(reconciler))
    assert repair.outcome == "would queue"
    assert "dry run" in describe([repair])
    assert Queue(QUEUE, connection=redis_conn).count == 0


def test_a_group_pass_covers_its_projects(reconciler, fake, redis_conn) -> None:
    """Reconciling a group lists the incidents of its projects and names each by its project's path."""
    fake.add_issue(1, 73, labels=["incident"])
    group = reconciler.api.namespace("groups", "group")
    (repair,) = reconciler.run(group)
    assert (repair.reference, repair.outcome) == ("group/project#73", "queued")
    assert any(c.path == "/groups/5/issues" for c in fake.calls)


def lost_comment(fake: FakeGitLab, iid: int, body: str, author: str = "alice") -> dict:
    """A comment made while the bot heard nothing (GitLab moves the issue's updated_at with it)."""
    note = fake.add_note((1, iid), body, author)
    fake.issues[(1, iid)]["updated_at"] = fake.tick()
    return note


def replies(fake: FakeGitLab, iid: int) -> list[str]:
    """The bot's comments without their memory, oldest first."""
    return [n["body"].split("<!--")[0] for n in fake.bot_notes(1, iid)]


def test_lost_commands_are_applied_after_the_state_repair_in_comment_order(reconciler, fake, redis_conn) -> None:
    """While the bot was down: severity raised by label, then an `update` and a `handoff` comment. One pass queues the
    state repair and both comments; the worker applies them once each, in that order; a second pass queues nothing."""
    fake.add_issue(1, 60, labels=["incident"])
    reconciler.run(project(reconciler))
    work(redis_conn)
    labels = fake.issues[(1, 60)]["labels"]
    labels.remove("severity::3")
    labels.append("severity::2")
    update = lost_comment(fake, 60, "@incident-bot update Failover to the replica in progress")
    handoff = lost_comment(fake, 60, "@incident-bot handoff incident-manager @im-bob")
    fake.add_note((1, 60), "Thanks, watching the graphs.", "bob")  # not a command: nothing to replay
    repairs = reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
    assert [(r.action, r.outcome) for r in repairs] == [
        ("update", "queued"),
        ("comment", "deferred"),
        ("comment", "deferred"),
    ]
    assert [r.delivery_id for r in repairs[1:]] == [
        f"reconcile-note-1-60-{update['id']}",
        f"reconcile-note-1-60-{handoff['id']}",
    ]
    assert "`@incident-bot update` by @alice" in describe(repairs)
    work(redis_conn)
    after = replies(fake, 60)[1:]
    assert len(after) == 3
    assert "Escalated: severity 3 → 2" in after[0]
    assert "Status update recorded" in after[1] and "Failover to the replica in progress" in after[1]
    assert "**Incident Manager (IM)** handed off" in after[2] and "@im-bob" in after[2]
    remembered = memory(fake, 60)
    assert remembered["severity"] == 2 and remembered["staffed"]["incident-manager"] == "im-bob"
    assert {str(update["id"]), str(handoff["id"])} <= {n.split(":")[0] for n in remembered["notes"]}
    writes = len(fake.writes())
    assert reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1)) == []
    work(redis_conn)
    assert len(fake.writes()) == writes


def note_hook(note: dict, iid: int) -> bytes:
    """The Note Hook GitLab sends for `note` on incident 1#iid."""
    data = payload("note.create.incident")
    data["project"]["id"] = 1
    data["user"] = {"id": 7, "username": note["author"]["username"], "name": "Alice"}
    data["object_attributes"].update(id=note["id"], note=note["body"])
    data["issue"].update(iid=iid, labels=[{"title": "incident"}], project_id=1)
    return json.dumps(data).encode()


@pytest.mark.parametrize("real_first", [True, False], ids=["real-then-reconcile", "reconcile-then-real"])
def test_a_comment_delivered_and_reconciled_is_applied_once(reconciler, fake, redis_conn, real_first) -> None:
    """GitLab's delivery of an `update` comment and reconcile's replay of it, either order: one status update."""
    fake.add_issue(1, 61, labels=["incident"])
    reconciler.run(project(reconciler))
    work(redis_conn)
    note = lost_comment(fake, 61, "@incident-bot update Rolled back")

    def deliver() -> str:
        meta = {"delivery_id": "real-note-61", "event": "Note Hook"}
        return reconciler.queue.enqueue(
            note_hook(note, 61), meta, delivery_id="real-note-61", issue_key="1:61", actor="alice"
        ).outcome

    if real_first:
        assert deliver() == "queued"
    (replay,) = reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1))
    if not real_first:
        assert deliver() == "deferred"
    assert replay.action == "comment"
    work(redis_conn)
    assert sum("Status update recorded" in r for r in replies(fake, 61)) == 1
    assert reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1)) == []


def test_comments_from_before_the_bot_recorded_them_are_not_replayed(reconciler, fake, redis_conn) -> None:
    """Memory written before handled comments were recorded: comments older than its note count as handled."""
    fake.add_issue(1, 62, labels=["incident"])
    old = lost_comment(fake, 62, "@incident-bot update From last year")
    legacy = {"declared": True, "deliveries": ["old-1"]}
    note = fake.add_note((1, 62), f"Tracking.\n\n<!-- incident-bot:memory {json.dumps(legacy)} -->", BOT["username"])
    assert all(r.action != "comment" for r in reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1)))
    lost = lost_comment(fake, 62, "@incident-bot update Newer than the memory")
    replays = [r for r in reconciler.run(project(reconciler), since=CLOCK - timedelta(days=1)) if r.action == "comment"]
    assert [r.delivery_id for r in replays] == [f"reconcile-note-1-62-{lost['id']}"]
    assert old["id"] < note["id"] < lost["id"]


@examples(max_examples=150, deadline=None)
@given(text=TEXT, author=st.sampled_from(["alice", "mallory", BOT["username"], ""]), system=st.booleans())
def test_a_replayed_comment_is_a_command_exactly_when_the_real_delivery_would_be(text, author, system) -> None:
    """Whatever a comment says, reconcile replays it only when it is a command the worker would run from GitLab's own
    Note Hook, and its replay parses to the same command from the same author."""
    issue = {"iid": 5, "project_id": 1, "labels": ["incident"], "issue_type": "incident", "updated_at": "x"}
    attributes = synthetic_payload(issue, "g/p", "update")["object_attributes"]
    note = {"id": 1001, "body": text, "author": {"id": 7, "username": author}, "system": system}
    found = unhandled_commands([note], 1000, attributes, "g/p", BOT["username"], "incident")
    real = payload("note.create.incident")
    real["object_attributes"]["note"] = text
    try:
        expected = parse_event(real).command(BOT["username"])
    except PayloadError:
        expected = None
    if system or author == BOT["username"] or expected is None:
        assert found == []
    else:
        ((body, command),) = found
        replayed = parse_event(body)
        assert command == expected[0] and replayed.command(BOT["username"]) == expected
        assert (replayed.actor.username, replayed.note_id, replayed.iid) == (author, 1001, 5)
    assert unhandled_commands([note], 1001, attributes, "g/p", BOT["username"], "incident") == []
