"""`incident-bot serve` as a newcomer runs it: real processes, the embedded Redis, a local trial.

Each start-up warning is said once for the process group, the banner is the last thing a start prints,
the sample delivery's incident shows on the trial board and in `report`, other commands find the
serve's embedded Redis, and a real start never shows the trial's rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.e2e.harness import READY_TIMEOUT, descendants, free_port, kill_exact, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.rulesdir import TEST_RULES

pytestmark = pytest.mark.e2e
TITLE = "Checkout returns 500 errors"  # the sample delivery's incident
BANNER_END = "logs: "


@dataclass
class Serve:
    """A running `incident-bot serve` and every line it printed so far."""

    popen: subprocess.Popen[str]
    port: int
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.lines)

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Another command started beside it, from the same directory and data directory."""
        env = {k: v for k, v in self.env.items() if k not in ("REDIS_URL",)}
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )


def _env(data: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_BOT_", "GITLAB_", "REDIS_"))}
    return {**base, "PYTHONUNBUFFERED": "1", "INCIDENT_BOT_DATA_DIR": str(data), **extra}


@pytest.fixture()
def start(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """Start `serve` (stopped at the end of the test, its whole process tree)."""
    started: list[Serve] = []

    def launch(*args: str, **env: str) -> Serve:
        port = free_port()
        full = _env(tmp_path / "data", **env)
        popen = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--bind", f"127.0.0.1:{port}", "--job-workers", "2", *args],
            cwd=ROOT,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        serve = Serve(popen, port, full)
        output = popen.stdout
        assert output is not None
        threading.Thread(target=lambda: serve.lines.extend(output), daemon=True).start()
        started.append(serve)
        wait_until(
            lambda: any(line.startswith(BANNER_END) for line in serve.lines) or popen.poll() is not None,
            timeout=READY_TIMEOUT * 3,
            what="serve's banner",
            describe=serve.text,
        )
        assert popen.poll() is None, serve.text()
        return serve

    yield launch
    for serve in started:
        stop(serve)


def stop(serve: Serve) -> None:
    tree = descendants(serve.popen.pid)
    if serve.popen.poll() is None:
        os.killpg(serve.popen.pid, signal.SIGTERM)
    try:
        serve.popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    for pid, started in tree:
        kill_exact(pid, started)
    if serve.popen.poll() is None:
        serve.popen.kill()
        serve.popen.wait(timeout=10)


def deliver_sample(serve: Serve) -> None:
    """Send the delivery the banner's sample curl sends."""
    (sample,) = [line.split("-d @", 1)[1].strip() for line in serve.lines if "-d @" in line]
    answer = requests.post(
        f"http://127.0.0.1:{serve.port}/webhook",
        data=Path(sample).read_bytes(),
        headers={"X-Gitlab-Event": "Issue Hook", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def on_board(serve: Serve, title: str) -> bool:
    return title in requests.get(f"http://127.0.0.1:{serve.port}/board", timeout=5).text


def test_a_trial_start_warns_once_ends_with_the_banner_and_shows_the_sample(start) -> None:
    """Every warning once, the banner last; the sample's incident on the board and in `report`; one Redis."""
    serve = start()
    startup = serve.text()
    assert startup.count("LOCAL TRIAL") == 1, startup
    assert startup.count("no target set") == 1 and startup.count("INCIDENT_BOT_CHANNEL_RESPONDERS") == 1, startup
    assert startup.count("has no target") == 0 and startup.count("placeholder members") == 1, startup
    banner = startup.splitlines()[-7:]
    assert banner[0].startswith("incident-bot: Redis unix://") and "trial.sqlite3" in banner[0], startup
    assert banner[1].startswith(f"incident-bot: listening on http://127.0.0.1:{serve.port}/webhook (local trial")
    assert banner[2] == "sample delivery:" and "curl -sS -X POST" in banner[3]
    assert banner[4].endswith("sample-delivery.json"), startup
    assert banner[5].startswith(f"board: http://127.0.0.1:{serve.port}/board") and banner[6].startswith(BANNER_END)

    deliver_sample(serve)
    wait_until(lambda: on_board(serve, TITLE), what="the sample incident on the trial board", describe=serve.text)
    page = requests.get(f"http://127.0.0.1:{serve.port}/incidents/shop/web/23", timeout=5)
    assert page.status_code == 200 and TITLE in page.text  # its own page, with its timeline
    report = serve.run("report")
    assert report.returncode == 0 and TITLE in report.stdout, report.stdout + report.stderr
    assert "the local trial's index" in report.stderr
    doctor = serve.run("doctor", "--project", "shop/web")
    assert "the Redis of the serve running as pid" in doctor.stderr, doctor.stderr
    assert "unix://" in doctor.stderr
    after = serve.text()[len(startup) :]
    assert "LOCAL TRIAL" not in after and "no target" not in after


def test_a_real_start_never_shows_the_trial(start, tmp_path: Path) -> None:
    """After a trial with the demo incidents, a start with a token and secret shows none of them."""
    trial = start("--demo")
    assert "demo incidents in the trial index" in trial.text()
    deliver_sample(trial)
    wait_until(lambda: on_board(trial, TITLE), what="the sample on the trial board", describe=trial.text)
    assert on_board(trial, "Checkout returns 502 for a third of customers")
    stop(trial)
    with FakeGitLabServer(FakeGitLab()) as gitlab:
        real = start(
            GITLAB_URL=gitlab.url,
            GITLAB_TOKEN="test-token",
            GITLAB_WEBHOOK_SECRET="s3cret",
            INCIDENT_BOT_RULES=str(TEST_RULES),
        )
        assert "LOCAL TRIAL" not in real.text() and "trial.sqlite3" not in real.text()
        report = real.run("report", "--format", "json")
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout)["incidents"] == 0 and "local trial" not in report.stderr
        board = requests.get(f"http://127.0.0.1:{real.port}/board", timeout=5).text
        assert TITLE not in board and "Checkout returns 502" not in board
