"""Comment commands through the worker: the real GitLab session, the fake GitLab behind `responses`."""

from __future__ import annotations

import json

import pytest
from rq import Queue

from service.incident import strip_memory
from service.worker import process_delivery
from tests.conftest import body, payload

BOT = "incident-bot"


@pytest.fixture()
def incident(fake, runtime):
    """A declared severity 3 incident (the open delivery already applied)."""
    process_delivery(body("issue.open.incident"), {"delivery_id": "open"})
    return fake


def command(text: str, key: str, user: str = "alice", uid: int = 7, action: str = "create") -> str:
    data = payload("note.create.incident")
    data["object_attributes"].update(note=text, action=action)
    data["user"].update(username=user, id=uid)
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


def reply(fake) -> str:
    return strip_memory(fake.bot_notes()[-1]["body"])


def test_help(incident) -> None:
    """`help` answers with the command table in a single note."""
    notes = len(incident.bot_notes())
    command(f"@{BOT} help", "c1")
    assert len(incident.bot_notes()) == notes + 1
    assert "incident-bot commands" in reply(incident) and "`@incident-bot handoff <role> @user`" in reply(incident)


def test_unknown_command_gets_help(incident) -> None:
    """An unknown command is named and answered with the help."""
    command(f"@{BOT} reboot everything", "c2")
    assert reply(incident).startswith("I don't know `reboot`.") and "incident-bot commands" in reply(incident)


def test_non_member_is_refused_politely(incident) -> None:
    """Someone without Developer access gets an explanation and nothing changes."""
    labels = incident.labels()
    command(f"@{BOT} severity 1", "c3", user="mallory", uid=13)
    assert "only project members with at least Developer access" in reply(incident)
    assert incident.labels() == labels
    assert any(c.path == "/projects/1/members/all/13" for c in incident.calls)


def test_access_level_is_cached(incident) -> None:
    """The membership check is asked once for repeated commands by the same person."""
    command(f"@{BOT} help", "c4")
    command(f"@{BOT} help", "c5")
    assert [c.path for c in incident.calls].count("/projects/1/members/all/7") == 1


def test_severity_command_escalates(incident) -> None:
    """`severity 1` swaps the label and the rules staff IM and CMOC in the same single PUT."""
    writes = len(incident.writes())
    command(f"@{BOT} severity 1", "c6")
    new = incident.writes()[writes:]
    puts = [c for c in new if c.method == "PUT"]
    assert (
        len(puts) == 1
        and puts[0].body["add_labels"] == "severity::1"
        and puts[0].body["remove_labels"] == "severity::3"
    )
    assert {"severity::1"} <= incident.labels() and "severity::3" not in incident.labels()
    assert "Severity set to 1 (critical) by @alice." in reply(incident) and "Escalated" in reply(incident)
    assert len([c for c in new if c.path.endswith("/notes") and c.method == "POST"]) == 1


def test_phase_command(incident) -> None:
    """`phase mitigation` moves the phase and posts its checklist."""
    command(f"@{BOT} phase mitigation", "c7")
    assert "incident::mitigation" in incident.labels() and "incident::identification" not in incident.labels()
    assert "Moved to **Mitigation**" in reply(incident) and "- [ ] Stop or contain the impact" in reply(incident)


def test_bad_arguments_explain_usage(incident) -> None:
    """Wrong arguments are explained, not guessed."""
    command(f"@{BOT} severity 9", "c8")
    assert "`severity` takes one of 1, 2, 3, 4." in reply(incident)
    command(f"@{BOT} handoff eoc @all", "c9")
    assert reply(incident).startswith("Usage: `@incident-bot handoff")


def test_handoff(incident) -> None:
    """`handoff eoc @bob` assigns bob, unassigns the previous EOC, and records it."""
    command(f"@{BOT} handoff eoc @bob", "c10")
    assignees = {a["username"] for a in incident.issues[(1, 23)]["assignees"]}
    assert assignees == {"bob"}
    assert "**Engineer On Call (EOC)** handed off from @eoc-carol to @bob." in reply(incident)


def test_update_is_broadcast_and_recorded(incident, redis_conn) -> None:
    """`update <text>` queues a status update for the responders and quotes it in the issue."""
    command(f"@{BOT} update DB failover done, errors back to normal @all", "c11")
    assert "Status update recorded" in reply(incident)
    # Quoted as written, but `@all` mentions nobody (a word joiner after `@`; `&#64;` would still ping).
    assert "> DB failover done, errors back to normal @\u2060all" in reply(incident)
    # Without a target configured the channel is skipped; with one, a job would be queued (see test_pipeline_notify).


def test_page_team(incident) -> None:
    """`page database` engages that team's on-call in the issue."""
    command(f"@{BOT} page database", "c12")
    assert "Paging **Database reliability**: @db-heidi" in reply(incident)
    command(f"@{BOT} page marketing", "c13")
    assert "`page` takes one of database, security." in reply(incident)


def test_mention_mid_sentence_is_not_a_command(incident) -> None:
    """Thanking the bot is not a command: only a line that starts with the mention is."""
    notes = len(incident.bot_notes())
    command(f"thanks @{BOT} for the checklist", "c14")
    assert len(incident.bot_notes()) == notes


def test_edited_comment_is_not_run_again(incident) -> None:
    """Editing a comment that held a command does not run it a second time."""
    notes = len(incident.bot_notes())
    command(f"@{BOT} help", "c15", action="update")
    assert len(incident.bot_notes()) == notes


def test_bots_own_note_is_never_a_command(incident) -> None:
    """The bot's comments (which quote commands) are ignored."""
    notes = len(incident.bot_notes())
    assert command(f"@{BOT} severity 1", "c16", user=BOT, uid=99) == "ignored: own change"
    assert len(incident.bot_notes()) == notes


def test_update_with_channel_enqueues_notification(fake, settings, rules, redis_conn, monkeypatch) -> None:
    """With a responders target, `update` queues one notification job carrying the text."""
    from service.worker import build_runtime, install

    monkeypatch.setenv("INCIDENT_BOT_CHANNEL_RESPONDERS", "http://127.0.0.1:9/hook")
    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", raising=False)
    install(build_runtime(settings, rules, redis_conn))
    process_delivery(body("issue.open.incident"), {"delivery_id": "open"})
    queue = Queue("incident-bot-notify", connection=redis_conn)
    before = set(queue.job_ids)
    command(f"@{BOT} update rolled back", "u1")
    (job_id,) = set(queue.job_ids) - before
    job = queue.fetch_job(job_id)
    assert job is not None and job.args[0]["message"]["kind"] == "status_update"
    assert job.args[0]["message"]["text"] == "rolled back"
