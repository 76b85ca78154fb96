"""Adopting the bot with the real processes: `setup`, `doctor`, a webhook GitLab disabled, and `reconcile`.

The commands run as a person runs them (`python -m service.cli ...`), beside the real gunicorn web and
RQ worker processes, against the fake GitLab over HTTP.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import ROOT, test_redis_url
from tests.e2e.harness import Stack, calls, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = pytest.mark.e2e


@pytest.fixture()
def stack(tmp_path: Path, server: FakeGitLabServer, redis_conn: Redis) -> Iterator[Stack]:
    processes = Stack(tmp_path, server.url, test_redis_url(), INCIDENT_BOT_PROJECTS="group/project")
    try:
        yield processes
    finally:
        processes.stop()
        print(processes.output())


def command(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`incident-bot ARGS` with the stack's environment, as a person would run it."""
    env = {**stack.env, "INCIDENT_BOT_PUBLIC_URL": f"{stack.url}/webhook"}
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_setup_doctor_and_reconcile_heal_an_incident_the_disabled_hook_never_sent(
    stack: Stack, fake: FakeGitLab
) -> None:
    """Setup makes doctor pass; GitLab disables the hook and an incident opens unseen; reconcile gets it declared."""
    stack.start_web()
    stack.start_worker()
    first = command(stack, "setup")
    assert first.returncode == 0, first.stdout + first.stderr
    (hook,) = fake.hooks[("projects", 1)]  # shop/checkout, the shipped alert route's project, has its own
    assert hook["url"] == f"{stack.url}/webhook"
    doctor = command(stack, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    with fake.lock:
        fake.disable_hook(hook)
        fake.add_issue(1, 80, labels=["incident"], title="Search is down")
    doctor = command(stack, "doctor")
    assert doctor.returncode == 1 and "Test → Issue events" in doctor.stdout

    repaired = command(stack, "reconcile")
    assert repaired.returncode == 0, repaired.stderr
    assert "group/project#80: never handled by the bot → open (queued" in repaired.stdout
    wait_until(lambda: fake.bot_notes(1, 80), what="the bot's note on #80", describe=stack.output)
    wait_until(stack.idle, what="the queue drained")
    assert {"severity::3", "incident::identification"} <= fake.labels(1, 80)
    writes = len([c for c in calls(fake) if c.is_write])
    again = command(stack, "reconcile", "--since", "1d")
    assert "nothing queued" in again.stdout
    wait_until(stack.idle, what="the queue drained")
    assert len([c for c in calls(fake) if c.is_write]) == writes
