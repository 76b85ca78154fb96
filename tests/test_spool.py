"""The edge's local spool: durable, bounded, in order, torn tails skipped, orphans drained once; and the app with it.

The app tests run the real create_app against a redis-server of their own that they stop and start.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job

from service import spool as spool_module
from service.config import Settings
from service.connection import connect
from service.keys import Keys
from service.rules import RuleSet
from service.spool import Record, Spool, SpoolError, encode
from service.web.app import create_app
from tests.conftest import ROOT, hook_headers, payload
from tests.e2e.harness import RedisServer, Stack, private_redis, wait_until


def record(n: int, issue: str = "1:23") -> Record:
    """A spooled delivery numbered `n`."""
    return Record(f'{{"n": {n}}}'.encode(), {"delivery_id": f"d-{n}"}, f"d-{n}", issue, "alice")


def drained(spool: Spool, limit: int = 10_000) -> list[str]:
    """The delivery ids one drain hands over, in order."""
    seen: list[str] = []
    spool.drain(lambda r: seen.append(r.delivery_id), limit=limit)
    return seen


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".spool"))


# The spool itself.
def test_records_come_back_in_arrival_order_with_their_content(tmp_path: Path) -> None:
    """Appended records are drained oldest first, byte for byte, and then the spool is empty."""
    spool = Spool(tmp_path / "spool")
    assert not spool.pending()
    sent = [record(n, issue=f"1:{n % 3}") for n in range(5)]
    for item in sent:
        spool.append(item)
    assert spool.pending() and spool.depth() == 5
    got: list[Record] = []
    assert spool.drain(got.append) == 5
    assert [dataclasses.replace(r, stamp=0) for r in got] == sent
    assert [r.stamp for r in got] == sorted({r.stamp for r in got})  # distinct, increasing
    assert not spool.pending() and spool.depth() == 0 and files(tmp_path / "spool") == []


def test_an_append_is_fsynced_before_it_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record's file is fsynced (and the directory, for a new file) before append returns."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(spool_module.os, "fsync", fsync)
    spool = Spool(tmp_path / "spool")
    spool.append(record(1))
    [name] = files(tmp_path / "spool")
    assert synced == [str(tmp_path / "spool" / name), str(tmp_path / "spool")]
    spool.append(record(2))
    assert synced[2:] == [str(tmp_path / "spool" / name)]  # same file: no second directory fsync


def test_two_processes_files_drain_in_arrival_order(tmp_path: Path) -> None:
    """Records spooled by two web processes, interleaved, are drained in the order they arrived."""
    first, second = Spool(tmp_path), Spool(tmp_path)
    for n in range(6):
        (first if n % 2 else second).append(record(n))
    assert len(files(tmp_path)) == 2
    assert drained(Spool(tmp_path)) == [f"d-{n}" for n in range(6)]


def test_a_drain_stopped_by_redis_resumes_where_it_stopped(tmp_path: Path) -> None:
    """`deliver` failing at the third record: two are gone, the third is first in line next time."""
    spool = Spool(tmp_path)
    for n in range(5):
        spool.append(record(n))
    seen: list[str] = []

    def flaky(item: Record) -> None:
        if len(seen) == 2:
            raise RedisConnectionError("down again")
        seen.append(item.delivery_id)

    with pytest.raises(RedisConnectionError):
        spool.drain(flaky)
    assert seen == ["d-0", "d-1"] and spool.depth() == 3
    assert drained(spool) == ["d-2", "d-3", "d-4"]


def test_a_drain_moves_at_most_its_limit(tmp_path: Path) -> None:
    """A drain batch is bounded, so an append waits for a batch, not for a whole backlog."""
    spool = Spool(tmp_path)
    for n in range(5):
        spool.append(record(n))
    assert drained(spool, limit=2) == ["d-0", "d-1"]
    spool.append(record(5))
    assert drained(spool, limit=2) == ["d-2", "d-3"]
    assert drained(spool) == ["d-4", "d-5"]


def test_the_spool_is_bounded_in_records_and_bytes(tmp_path: Path) -> None:
    """A full spool refuses with SpoolError naming it; once drained it takes deliveries again."""
    by_count = Spool(tmp_path / "count", max_records=3)
    for n in range(3):
        by_count.append(record(n))
    with pytest.raises(SpoolError, match="spool full: 3 records"):
        by_count.append(record(3))
    assert drained(by_count, limit=1) == ["d-0"]
    by_count.append(record(3))  # one record left the spool: one more fits
    size = len(encode(dataclasses.replace(record(0), stamp=10**19)))  # a real stamp has 19 digits
    by_bytes = Spool(tmp_path / "bytes", max_bytes=2 * size + 10)
    by_bytes.append(record(0))
    by_bytes.append(record(1))
    with pytest.raises(SpoolError, match="spool full"):
        by_bytes.append(record(2))
    assert drained(by_bytes) == ["d-0", "d-1"]
    by_bytes.append(record(2))


def test_an_unwritable_spool_is_a_spool_error(tmp_path: Path) -> None:
    """A spool directory that cannot be made (a file in its way) refuses with SpoolError, not OSError."""
    (tmp_path / "file").write_text("")
    with pytest.raises(SpoolError, match="spool unwritable"):
        Spool(tmp_path / "file" / "spool").append(record(1))


@pytest.mark.parametrize("cut", [1, 5, 12, 20, -1], ids=["1-byte", "in-frame", "frame-only", "in-header", "last-byte"])
def test_a_torn_last_record_is_skipped(tmp_path: Path, cut: int, caplog: pytest.LogCaptureFixture) -> None:
    """A record cut short by a crash: the whole ones before it drain, it is dropped with a log line, no error."""
    spool = Spool(tmp_path)
    spool.append(record(1))
    spool.append(record(2))
    [name] = files(tmp_path)
    with (tmp_path / name).open("ab") as handle:
        handle.write(encode(record(3))[:cut])
    with caplog.at_level(logging.ERROR, "incident_bot.spool"):
        assert drained(spool) == ["d-1", "d-2"]
    assert "unreadable record" in caplog.text and files(tmp_path) == []


def test_a_corrupt_record_stops_its_file_only(tmp_path: Path) -> None:
    """A record whose checksum fails ends its file; another process's file still drains whole."""
    first, second = Spool(tmp_path), Spool(tmp_path)
    first.append(record(1))
    second.append(record(2))
    first.append(record(3))
    name = next(n for n in files(tmp_path) if n.startswith(f"{os.getpid()}-") and (tmp_path / n).stat().st_size > 200)
    data = bytearray((tmp_path / name).read_bytes())
    data[-3] ^= 0xFF  # a flipped byte in the last record of `first`
    (tmp_path / name).write_bytes(bytes(data))
    assert drained(Spool(tmp_path)) == ["d-1", "d-2"]


# Orphans and the lock: the files of a process that died are drained by another, once.
CHILD = """
import sys
from pathlib import Path
from service.spool import Record, Spool
spool = Spool(Path(sys.argv[1]))
for n in range(int(sys.argv[2])):
    spool.append(Record(b"{}", {"delivery_id": f"orphan-{n}"}, f"orphan-{n}", "1:9", "alice"))
print("appended", flush=True)
sys.stdin.read()  # until killed
"""

HOLDER = """
import fcntl, os, sys
fd = os.open(os.path.join(sys.argv[1], ".lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()  # until killed
"""


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running `code`, started and waited until it printed its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline()
    return proc


def test_a_killed_process_spool_is_drained_by_another(tmp_path: Path) -> None:
    """A web process SIGKILLed with three records spooled: another process's drain moves them, in order."""
    proc = child(CHILD, str(tmp_path), "3")
    proc.kill()
    proc.wait()
    assert files(tmp_path) and files(tmp_path)[0].startswith(f"{proc.pid}-")
    survivor = Spool(tmp_path)
    survivor.append(record(1))
    assert drained(survivor) == ["orphan-0", "orphan-1", "orphan-2", "d-1"]
    assert files(tmp_path) == []


def test_no_drain_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    """While another process holds the spool's lock, a drain moves nothing; once it is gone, everything moves."""
    spool = Spool(tmp_path)
    spool.append(record(1))
    holder = child(HOLDER, str(tmp_path))
    try:
        assert spool.drain(lambda r: pytest.fail("drained under another's lock")) is None
    finally:
        holder.kill()
        holder.wait()
    assert drained(spool) == ["d-1"]


def test_concurrent_drains_hand_over_each_record_once(tmp_path: Path) -> None:
    """Four threads draining the same spool in small batches: every record is handed over exactly once."""
    writer = Spool(tmp_path)
    for n in range(300):
        writer.append(record(n))
    seen: list[str] = []
    lock = threading.Lock()

    def deliver(item: Record) -> None:
        with lock:
            seen.append(item.delivery_id)

    def drain() -> None:
        mine = Spool(tmp_path)
        while mine.pending():
            mine.drain(deliver, limit=7)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen == [f"d-{n}" for n in range(300)]


# Through the app: a private redis-server stopped and started again.
@pytest.fixture()
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone (append-only, fsync per write): stopping it disturbs no other test."""
    with private_redis(tmp_path / "redis", persistent=True) as server:
        yield server


def comment(iid: int, n: int) -> bytes:
    """A Developer's `@incident-bot update outage-<iid>-<n>` on incident `iid`."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note=f"@incident-bot update outage-{iid}-{n}", id=1000 * iid + n)
    data["issue"].update(iid=iid, id=10_000 + iid)
    return json.dumps(data).encode()


def chain(conn: Redis, issue_key: str) -> list[str]:
    """An issue's queued jobs, oldest first, read back along their dependencies from the issue's last one."""
    found: list[str] = []
    job_id = conn.get(f"incident-bot:last:{issue_key}")
    while isinstance(job_id, bytes) and job_id:
        found.append(job_id.decode())
        job_id = conn.hget(Job.key_for(job_id.decode()), "dependency_id")
    return found[::-1]


def test_deliveries_during_a_redis_outage_are_accepted_and_queued_in_order_once(
    tmp_path: Path, settings: Settings, rules: RuleSet, redis_server: RedisServer
) -> None:
    """Redis stopped: every delivery answers 202; Redis back: all reach the queue, in order per issue, none twice."""
    settings = dataclasses.replace(settings, spool_dir=tmp_path / "spool")
    app = create_app(settings, connection=connect(redis_server.url), rules=rules)
    client = app.test_client()
    conn = Redis.from_url(redis_server.url)

    def post(iid: int, n: int):
        return client.post("/webhook", data=comment(iid, n), headers=hook_headers("Note Hook", key=f"c-{iid}-{n}"))

    assert post(1, 0).json["status"] == "queued"
    redis_server.stop()
    during = [post(iid, n) for n in range(1, 6) for iid in (1, 2)]
    assert [(r.status_code, r.json["status"]) for r in during] == [(202, "spooled")] * 10
    assert [r.json["job_id"] for r in during] == [f"c-{iid}-{n}" for n in range(1, 6) for iid in (1, 2)]
    redis_server.start()
    expected = {1: [f"c-1-{n}" for n in range(6)], 2: [f"c-2-{n}" for n in range(1, 6)]}
    wait_until(lambda: not Spool(settings.spool_dir).pending(), what="spool drained")  # removed once queued
    assert chain(conn, "1:1") == expected[1] and chain(conn, "1:2") == expected[2]
    assert post(1, 3).json["status"] == "duplicate"  # a resend of a spooled delivery is known
    assert post(1, 6).json["status"] == "queued"  # the spool is empty: straight to the queue again
    # Each job once: an issue's first is on the queue, the others wait in RQ's deferred registry behind it.
    queued, deferred = conn.lrange("rq:queue:incident-bot", 0, -1), conn.zrange("rq:deferred:incident-bot", 0, -1)
    assert isinstance(queued, list) and isinstance(deferred, list)  # redis-py's annotations name every shape
    jobs = queued + deferred
    assert sorted(j.decode() for j in jobs if isinstance(j, bytes)) == sorted(expected[1] + expected[2] + ["c-1-6"])
    conn.close()


def test_queue_down_and_spool_unwritable_is_503(
    tmp_path: Path, settings: Settings, rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis unreachable and the spool cannot be written: 503 as before, and the log says why."""
    (tmp_path / "file").write_text("")
    settings = dataclasses.replace(settings, spool_dir=tmp_path / "file" / "spool")
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    client = create_app(settings, connection=dead, rules=rules).test_client()
    with caplog.at_level(logging.WARNING, "incident_bot.web"):
        resp = client.post("/webhook", data=comment(1, 1), headers=hook_headers("Note Hook", key="k503"))
    assert resp.status_code == 503 and resp.json == {
        "error": "queue unavailable and local spool unwritable, retry later"
    }
    assert "spool unwritable" in caplog.text


@pytest.mark.e2e
def test_a_restarted_web_drains_the_spool_its_predecessor_left_before_any_delivery(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """gunicorn started over a spool left by a dead web process: its workers queue it without waiting for a delivery."""
    Spool(tmp_path / "data" / "spool").append(  # where the Stack's INCIDENT_BOT_DATA_DIR puts the spool
        Record(comment(1, 1), {"delivery_id": "left-1", "event": "Note Hook"}, "left-1", "1:1", "alice")
    )
    stack = Stack(tmp_path, "http://127.0.0.1:9", redis_server.url)
    try:
        stack.start_web(workers=1)
        spool = Spool(tmp_path / "data" / "spool")
        wait_until(lambda: not spool.pending(), what="the spool drained")  # removed after it is queued
        assert stack.connection.exists(Job.key_for(Keys.of_queue(stack.queue_name).job_id("left-1")))
    finally:
        stack.stop()
        print(stack.output())
