"""Chaos: Redis is stopped for 60 s under a steady load of comments; nothing is refused, nothing lost or doubled.

Real processes: gunicorn (`incident-bot web`, two workers), two `incident-bot worker` processes, a redis-server
of the test's own (append-only file, fsync per write), the fake GitLab over HTTP. GitLab does not redeliver a
refused delivery, so the sender posts each one once and every answer must be 202. Half-way through the outage
a gunicorn worker holding spooled deliveries is SIGKILLed: its spool file is drained by the others. Once Redis
is back every comment is applied exactly once, in the order it was sent per issue. The figures are printed.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from service.spool import Spool
from tests.conftest import payload
from tests.e2e.harness import RedisServer, Stack, descendants, kill_exact, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

ISSUES = 4
RATE = 5.0  # deliveries a second, round robin over the issues
BEFORE, AFTER = 5.0, 5.0  # seconds of load with Redis up, before the outage and after it
OUTAGE = float(os.environ.get("INCIDENT_BOT_OUTAGE_SECONDS", "60"))  # a shorter outage for a quick trial
SETTLE_TIMEOUT = 240.0
MARKER = re.compile(r"\boutage-\d+-\d+\b")


def opening(iid: int) -> bytes:
    """The Issue Hook that opens incident `iid`."""
    data = payload("issue.open.incident")
    data["object_attributes"].update(iid=iid, id=10_000 + iid)
    return json.dumps(data).encode()


def comment(iid: int, n: int) -> bytes:
    """A Developer's `@incident-bot update outage-<iid>-<n>` on incident `iid`."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note=f"@incident-bot update outage-{iid}-{n}", id=100_000 + iid * 1000 + n)
    data["issue"].update(iid=iid, id=10_000 + iid)
    return json.dumps(data).encode()


class Sender(threading.Thread):
    """Posts a comment every 1/RATE s, each once (as GitLab: no resend), until told to stop; records the answers."""

    def __init__(self, stack: Stack):
        super().__init__(name="sender", daemon=True)
        self.stack = stack
        self.sent: dict[int, list[str]] = {iid: [] for iid in range(1, ISSUES + 1)}
        self.answers: list[tuple[str, int, str]] = []  # (key, HTTP status, answer's status)
        self.posting = threading.Lock()  # held during a POST: a worker is killed between two, never during one
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        started, n = time.monotonic(), 0
        try:
            while not self.done.is_set():
                iid, count = n % ISSUES + 1, n // ISSUES + 1
                key = f"outage-{iid}-{count}"
                with self.posting:
                    response = self.stack.post(comment(iid, count), key=key, event="Note Hook")
                status = response.json().get("status", response.text) if response.content else ""
                self.answers.append((key, response.status_code, status))
                self.sent[iid].append(key)
                n += 1
                time.sleep(max(0.0, started + n / RATE - time.monotonic()))
        except BaseException as exc:  # reported by the test
            self.error = exc


class DepthWatch(threading.Thread):
    """Samples the spool's depth; notes when it was last seen non-empty."""

    def __init__(self, spool: Spool):
        super().__init__(name="depth", daemon=True)
        self.spool = spool
        self.max_depth = 0
        self.last_pending = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            if self.spool.pending():
                self.last_pending = time.monotonic()
                self.max_depth = max(self.max_depth, self.spool.depth())


def markers(gitlab: FakeGitLab, iid: int) -> list[str]:
    """The `outage-<iid>-<n>` markers of the bot's notes on `iid`, in the order GitLab got them."""
    with gitlab.lock:
        bodies = [n["body"] for n in gitlab.bot_notes(1, iid)]
    # The first marker of a note is its visible quote; the bot's memory block below it repeats the earlier ones.
    return [found.group() for body in bodies if (found := MARKER.search(body))]


def kill_a_spooling_web_worker(stack: Stack, spool_dir: Path, sender: Sender) -> int:
    """SIGKILL a gunicorn worker that has records in the spool (between two POSTs); its pid."""
    with sender.posting:
        for pid, started in descendants(stack.procs[0].popen.pid):
            if any(p.name.startswith(f"{pid}-") and p.stat().st_size for p in spool_dir.glob("*.spool")):
                kill_exact(pid, started)
                return pid
    raise AssertionError(f"no web worker with a spool file in {sorted(p.name for p in spool_dir.iterdir())}")


def test_a_60_s_redis_outage_under_load_refuses_nothing_and_applies_everything_once_in_order(
    tmp_path: Path, fake_server: FakeGitLabServer, own_redis: RedisServer
) -> None:
    """5 comments/s on 4 incidents, Redis stopped 60 s, a spooling web worker killed: all 202, applied once in order."""
    gitlab = fake_server.fake
    for iid in range(1, ISSUES + 1):
        gitlab.add_issue(1, iid)
    stack = Stack(tmp_path, fake_server.url, own_redis.url)
    spool = Spool(tmp_path / "data" / "spool")  # where the Stack's INCIDENT_BOT_DATA_DIR puts it
    watch = DepthWatch(spool)
    sender = Sender(stack)
    try:
        stack.start_web(workers=2)
        for n in range(2):
            stack.start_worker(f"worker-{n}")
        for iid in range(1, ISSUES + 1):
            assert stack.post(opening(iid), key=f"open-{iid}").status_code == 202
        wait_until(lambda: all(gitlab.bot_notes(1, iid) for iid in range(1, ISSUES + 1)), what="incidents declared")
        watch.start()
        sender.start()
        time.sleep(BEFORE)
        own_redis.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE / 2)
        killed = kill_a_spooling_web_worker(stack, spool.directory, sender)
        time.sleep(max(0.0, down_at + OUTAGE - time.monotonic()))
        own_redis.start()
        up_at = time.monotonic()
        time.sleep(AFTER)
        sender.done.set()
        sender.join(timeout=30)
        assert sender.error is None, f"sender failed: {sender.error!r}"
        wait_until(lambda: not spool.pending(), timeout=SETTLE_TIMEOUT, what="spool drained", describe=stack.output)
        drained_at = watch.last_pending or up_at
        expected = sender.sent
        wait_until(
            lambda: all(markers(gitlab, iid) == expected[iid] for iid in expected) and stack.idle(),
            timeout=SETTLE_TIMEOUT,
            what="every comment applied",
            describe=lambda: "\n".join(
                f"{iid}: {markers(gitlab, iid)[-5:]} of {len(expected[iid])}" for iid in expected
            ),
        )
        watch.done.set()

        # Nothing refused: every answer a 202, queued or spooled.
        refused = [answer for answer in sender.answers if answer[1] != 202]
        assert refused == [], refused[:10]
        assert {status for *_, status in sender.answers} <= {"queued", "spooled"}
        # Every comment applied once, in the order sent: one declaration note and one note per comment.
        for iid in expected:
            assert markers(gitlab, iid) == expected[iid], iid
            assert len(gitlab.bot_notes(1, iid)) == 1 + len(expected[iid]), iid
        assert not spool.pending() and list(spool.directory.glob(f"{killed}-*")) == []
        spooled = sum(1 for *_, status in sender.answers if status == "spooled")
        assert spooled >= RATE * OUTAGE * 0.8  # the outage did happen under load
        print(
            f"redis outage {OUTAGE:.0f}s at {RATE:.0f} deliveries/s: {len(sender.answers)} deliveries, all 202 "
            f"({spooled} spooled); max spool depth {watch.max_depth}; spool drained {drained_at - up_at:.1f}s "
            f"after Redis came back; web worker {killed} SIGKILLed with a non-empty spool; every comment "
            f"applied once in order, {time.monotonic() - up_at:.0f}s after Redis came back"
        )
    finally:
        watch.done.set()
        sender.done.set()
        stack.stop()
        print(stack.output()[-20000:])
