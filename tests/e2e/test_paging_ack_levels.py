"""Paging end to end: an acknowledgement at level 2, or at level 3, stops the escalation there (gunicorn web, a
real RQ worker, Redis, the fake GitLab over HTTP, a real receiver per channel; a paging minute of 0.3 s)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import payload, test_redis_url
from tests.e2e.harness import Stack, accepted, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.paging.helpers import Receivers, declare_severity_1, notes, paging_stack
from tests.paging.pagingrules import paging_rules

pytestmark = pytest.mark.e2e
MINUTE = "0.3"  # level 1: 1.5 s, level 2: 3 s, level 3: 4.5 s; a whole run 9 s


@pytest.fixture()
def rules_dir(tmp_path: Path) -> Path:
    return paging_rules(tmp_path / "paging")


@pytest.fixture()
def receivers(rules_dir: Path) -> Iterator[Receivers]:
    found = Receivers(rules_dir)
    yield found
    found.close()


def ack(stack: Stack, gitlab: FakeGitLab, who: str) -> None:
    """`@incident-bot ack` by `who`, a comment delivered as GitLab would."""
    with gitlab.lock:
        gitlab.members[gitlab.users[who]] = 30  # a Developer: the bot takes commands from Developers
    note = payload("note.create.incident")
    note["object_attributes"].update(note="@incident-bot ack", id=9100 + len(who))
    note["user"].update(username=who, id=gitlab.users[who])
    stack.wait_finished(accepted(stack.post(json.dumps(note).encode(), key=f"ack-{who}", event="Note Hook")))


def settled(receivers: Receivers, gitlab: FakeGitLab) -> tuple[int, ...]:
    """What was sent and said, to see that nothing more comes."""
    said = "\n".join(notes(gitlab))
    pages = (len(receivers.pages(c)) for c in ("pager-carol", "pager-bob", "pager-alice", "executives"))
    return (
        *pages,
        len(receivers.mails()),
        said.count("Not acknowledged by"),
        len(receivers.http["responders"].delivered),
    )


@pytest.mark.parametrize(("level", "channel", "who"), [(2, "pager-bob", "im-bob"), (3, "executives", "eoc-carol")])
def test_an_ack_at_a_level_stops_the_escalation(
    tmp_path: Path,
    fake_server: FakeGitLabServer,
    gitlab: FakeGitLab,
    redis_conn: Redis,
    rules_dir: Path,
    receivers: Receivers,
    level: int,
    channel: str,
    who: str,
) -> None:
    """Acknowledged once level `level` is paged (by someone paged so far): no later level, no run 2, no broadcast."""
    stack = paging_stack(tmp_path, fake_server.url, test_redis_url(), rules_dir, MINUTE, **receivers.env())
    try:
        stack.start_web()
        stack.start_worker()
        declare_severity_1(stack, gitlab)
        wait_until(lambda: receivers.pages(channel), timeout=30, what=f"level {level} paged")
        ack(stack, gitlab, who)
        wait_until(lambda: any(f"Page acknowledged by @{who}" in n for n in notes(gitlab)), what="the ack said")
        after = settled(receivers, gitlab)
        # Whatever step was still scheduled falls due and runs: then nothing is left that could page.
        wait_until(stack.settled, timeout=120, what="nothing left to run or scheduled")
        assert settled(receivers, gitlab) == after
        said = "\n".join(notes(gitlab))
        assert said.count("Not acknowledged by") == level - 1 and "Nobody acknowledged the page" not in said
        assert len(receivers.pages("pager-carol")) == 1  # run 2 never started
        assert receivers.http["responders"].delivered == [] or all(
            "Page not acknowledged" not in r.body.decode() for r in receivers.http["responders"].delivered
        )
        if level == 2:
            assert receivers.pages("executives") == []
    finally:
        stack.stop()
        print(stack.output())
