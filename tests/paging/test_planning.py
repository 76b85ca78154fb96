"""Paging through the worker in one process: the real planner and executor, the fake GitLab behind `responses`,
real Redis; the page and step jobs are looked at in their queues rather than run."""

from __future__ import annotations

import json
from collections import Counter

from redis import Redis
from rq import Queue

from service.incident import strip_memory
from service.worker import process_delivery
from service.worker.pagestep import page_step
from service.worker.runtime import Runtime
from tests.conftest import payload
from tests.fakegitlab import FakeGitLab
from tests.paging.helpers import declare, pages, reply, steps

BOT = "incident-bot"


def run_step(redis_conn: Redis, step: int) -> str:
    """Run step `step`'s job, then the delivery it queued (as the worker would)."""
    (args,) = [a for a in steps(redis_conn) if a[4] == step]
    page_step(*args)
    queue = Queue("incident-bot", connection=redis_conn)
    (job,) = [j for j in queue.jobs if j.args[1].get("paging") == f"step:{args[3]}:{step}"]
    job.delete()
    return process_delivery(*job.args)


def command(text: str, key: str, user: str, uid: int) -> str:
    data = payload("note.create.incident")
    data["object_attributes"].update(note=text, id=hash(key) % 10_000 + 1)
    data["user"].update(username=user, id=uid)
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


def test_a_severity_1_declaration_pages_the_eoc(fake: FakeGitLab, pruntime: Runtime, redis_conn: Redis) -> None:
    """Declared at severity 1: the EOC is paged through each contact, the issue says so, step 1 is scheduled."""
    declare(fake)
    note = strip_memory(fake.bot_notes()[0]["body"])
    assert "**Paged** (policy `default`, level 1 of 3, run 1 of 2): @eoc-carol (channel `pager-carol`, e-mail)" in note
    sent = pages(redis_conn)
    assert sorted(p["contact"] for p in sent) == ["channel:pager-carol", "email:carol@example.com"]
    assert {p["ack"]["person"] for p in sent} == {"eoc-carol"}
    assert [s[4] for s in steps(redis_conn)] == [1]


def test_unacknowledged_it_escalates_then_broadcasts(fake: FakeGitLab, pruntime: Runtime, redis_conn: Redis) -> None:
    """Each step pages the next level's people once per run; after the last, the broadcast channels are told."""
    declare(fake)
    run_step(redis_conn, 1)
    assert reply(fake).startswith("Not acknowledged by @eoc-carol within 5 min; paging the next level.")
    assert "level 2 of 3" in reply(fake) and "@im-alice" in reply(fake)
    for step in range(2, 6):
        run_step(redis_conn, step)
    assert "run 2 of 2" in reply(fake)
    run_step(redis_conn, 6)
    assert "Nobody acknowledged the page (policy `default`, 2 runs); told `responders`." in reply(fake)
    notify = Queue("incident-bot-notify", connection=redis_conn)
    told = [j.args[0] for j in notify.jobs if j.func_name == "service.notify.send_notification"]
    assert [(t["channel"]["name"], t["message"]["kind"]) for t in told if "page" in t["message"]["kind"]] == [
        ("responders", "page_unacknowledged")
    ]
    # Each run pages each level's people once: carol (both contacts), im-alice, the executives channel; the
    # on-call engineer of level 2 is carol, already paged in the run.
    sent = pages(redis_conn)
    assert len({(p["contact"], p["key"]) for p in sent}) == len(sent) == 8
    assert Counter(p["contact"] for p in sent) == {
        "channel:pager-carol": 2,
        "email:carol@example.com": 2,
        "channel:pager-alice": 2,
        "channel:executives": 2,
    }


def test_ack_command_stops_the_escalation(fake: FakeGitLab, pruntime: Runtime, redis_conn: Redis) -> None:
    """`@incident-bot ack` by the paged person acknowledges; the next step pages nobody."""
    declare(fake)
    command(f"@{BOT} ack", "ack-1", "eoc-carol", 23)
    assert reply(fake).startswith("Page acknowledged by @eoc-carol; the escalation is stopped.")
    notes = len(fake.bot_notes())
    before = len(pages(redis_conn))
    run_step(redis_conn, 1)
    assert len(fake.bot_notes()) == notes and len(pages(redis_conn)) == before


def test_someone_not_paged_cannot_ack(fake: FakeGitLab, pruntime: Runtime) -> None:
    """Only the people paged acknowledge; anyone else is told who can."""
    declare(fake)
    command(f"@{BOT} ack", "ack-2", "alice", 7)
    assert reply(fake) == "Only the people paged can acknowledge: @eoc-carol."
