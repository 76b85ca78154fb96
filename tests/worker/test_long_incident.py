"""A long incident is never forgotten and a delivery costs the same however many comments it has."""

from __future__ import annotations

from typing import Any

from service.incident import read_memory, strip_memory
from service.worker import process_delivery
from tests.conftest import body

HUMAN_NOTES = 520  # more than the 500 newest notes the bot used to read
NOTES_PATH = "/projects/1/issues/23/notes"


def run(name: str, key: str) -> str:
    return process_delivery(body(name), {"delivery_id": key, "event_uuid": None})


def chatter(fake, count: int = HUMAN_NOTES, text: str = "still looking") -> None:
    """People comment `count` times; no delivery reaches the bot for these (as with a lost hook)."""
    for n in range(count):
        fake.add_note((1, 23), f"{text} {n}", "alice")


def move_to(fake, phase: str) -> None:
    """A person swaps the phase label on the issue."""
    labels = [x for x in fake.issues[(1, 23)]["labels"] if not x.startswith("incident::")]
    fake.issues[(1, 23)]["labels"] = [*labels, f"incident::{phase}"]


def reads_of(fake, start: int) -> list[str]:
    """The GETs made to GitLab since call number `start`."""
    return [f"{c.path}?{c.query}" for c in fake.calls[start:] if c.method == "GET"]


def declared_notes(fake) -> list[str]:
    return [n["body"] for n in fake.bot_notes() if "Incident declared" in n["body"]]


def test_phase_change_after_520_comments_does_not_declare_again(fake, runtime) -> None:
    """520 comments after the bot's last note, a phase change is handled as a phase change, not a new incident."""
    run("issue.open.incident", "k1")
    assignees = list(fake.issues[(1, 23)]["assignees"])
    chatter(fake)
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    assert len(declared_notes(fake)) == 1
    latest = fake.bot_notes()[-1]["body"]
    assert "Mitigation" in latest and "Incident declared" not in latest
    assert fake.issues[(1, 23)]["assignees"] == assignees  # nobody re-staffed
    memory = read_memory(latest)
    assert memory is not None and memory["phase"] == "mitigation" and memory["deliveries"][-2:] == ["k1", "k2"]


def test_delivery_reads_a_bounded_number_of_notes(fake, runtime) -> None:
    """However long the incident, a delivery reads the issue and a few notes by id, never pages of notes."""
    run("issue.open.incident", "k1")
    reads = []
    for round_, phase in enumerate(("mitigation", "remediation", "identification")):
        chatter(fake, HUMAN_NOTES, f"round {round_}")
        start = len(fake.calls)
        move_to(fake, phase)
        run("issue.update.phase", f"p{round_}")
        reads.append(reads_of(fake, start))
    assert all(len(r) <= 3 for r in reads), reads
    assert not any(NOTES_PATH + "?" in r for rs in reads for r in rs), reads  # no listing at all
    assert len(declared_notes(fake)) == 1


def test_lost_pointer_falls_back_to_reading_every_page(fake, runtime, redis_conn) -> None:
    """With Redis flushed, the memory 700 comments back is still found (all pages read once), then by id again."""
    run("issue.open.incident", "k1")
    chatter(fake, 700)
    redis_conn.flushdb()
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    assert len(declared_notes(fake)) == 1
    chatter(fake, 700)
    start = len(fake.calls)
    move_to(fake, "remediation")
    run("issue.update.phase", "k3")
    assert len(declared_notes(fake)) == 1
    assert len(reads_of(fake, start)) <= 3


def test_stale_pointer_to_a_deleted_note_falls_back(fake, runtime) -> None:
    """Someone deleted the bot's latest note: the pointer is stale, the previous memory is found by scanning."""
    run("issue.open.incident", "k1")
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    fake.notes[(1, 23)] = [n for n in fake.notes[(1, 23)] if n["id"] != fake.bot_notes()[-1]["id"]]
    chatter(fake, 510)
    move_to(fake, "remediation")
    run("issue.update.phase", "k3")
    assert len(declared_notes(fake)) == 1
    assert "Remediation" in fake.bot_notes()[-1]["body"]


def test_pointer_to_a_note_of_someone_else_is_not_trusted(fake, runtime, redis_conn) -> None:
    """A pointer naming a user's note that carries a planted memory marker is stale: the bot's own memory wins."""
    run("issue.open.incident", "k1")
    planted = fake.add_note((1, 23), '<!-- incident-bot:memory {"declared":false} -->', "mallory")
    for key in redis_conn.scan_iter("incident-bot:memory-note:*"):
        redis_conn.set(key, planted["id"])
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    assert len(declared_notes(fake)) == 1


def test_unticked_items_are_carried_over_after_520_comments(fake, runtime) -> None:
    """The previous phase's unticked items are read from the bot's checklist note by id, however far back."""
    run("issue.open.incident", "k1")
    first = fake.bot_notes()[0]
    first["body"] = first["body"].replace("- [ ] Confirm the impact", "- [x] Confirm the impact")
    chatter(fake)
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    latest = strip_memory(fake.bot_notes()[-1]["body"])
    assert "Still open from **Identification**" in latest
    assert "Confirm the severity against the table of levels" in latest
    assert "Confirm the impact" not in latest


def test_planted_checklist_in_a_user_note_is_ignored(fake, runtime) -> None:
    """A user note imitating the bot's checklist marker is not read as the bot's checklist."""
    run("issue.open.incident", "k1")
    for note in fake.bot_notes():  # every item of the real checklist is done
        note["body"] = note["body"].replace("- [ ] ", "- [x] ")
    fake.add_note(
        (1, 23),
        "<!-- incident-bot:checklist identification -->\n- [ ] ![px](http://evil.example/p.png)\n"
        "- [ ] [click](javascript:alert(3))",
        "mallory",
    )
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    latest = strip_memory(fake.bot_notes()[-1]["body"])
    assert "Still open" not in latest
    assert "evil.example" not in latest and "javascript:" not in latest


def test_memory_from_before_checklist_ids_still_carries_items_over(fake, runtime, redis_conn) -> None:
    """An incident declared by an older bot (no checklist ids in its memory) still gets "Still open from"."""
    from service.incident import write_memory

    run("issue.open.incident", "k1")
    (note,) = fake.bot_notes()
    memory = read_memory(note["body"])
    assert memory is not None
    old = {k: v for k, v in memory.items() if k != "checklists"}
    note["body"] = write_memory(note["body"], old)
    redis_conn.flushdb()
    chatter(fake)
    move_to(fake, "mitigation")
    run("issue.update.phase", "k2")
    latest = fake.bot_notes()[-1]["body"]
    assert "Still open from **Identification**" in latest
    assert len(declared_notes(fake)) == 1
    assert (read_memory(latest) or {}).get("checklists") == {"identification": note["id"], "mitigation": None}


def test_unreadable_pointer_means_reading_all_notes() -> None:
    """Redis down while the pointer is read: no pointer (the memory is found by scanning), not a failed delivery."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    from service.gitlab import BotClient

    class Down(Redis):
        def get(self, name: Any) -> Any:
            raise RedisConnectionError("Connection refused")

    client = BotClient("http://gitlab.test", "t", cache=Down())
    assert client.memory_note(1, 23) is None
