"""Without GITLAB_WEBHOOK_SECRET: `web` refuses to start, `serve` runs as a local trial and says so loudly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import ROOT, body, test_redis_url
from tests.e2e.harness import READY_TIMEOUT, descendants, free_port, kill_exact, wait_until


def _env(**extra: str) -> dict[str, str]:
    """The environment of a process started by hand: no secret, this test's Redis, a queue of its own."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_BOT_", "GITLAB_", "REDIS_URL"))}
    return {**base, "PYTHONUNBUFFERED": "1", "REDIS_URL": test_redis_url(), "INCIDENT_BOT_QUEUE": "trial", **extra}


def test_web_without_a_secret_refuses_to_start() -> None:
    """`incident-bot web` with no secret exits 2 at once, naming the variable and the explicit way out."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "web", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "GITLAB_WEBHOOK_SECRET" in done.stderr and "--insecure-local-trial" in done.stderr


def test_serve_without_a_secret_is_a_loud_local_trial(tmp_path: Path, redis_conn) -> None:
    """`incident-bot serve` keeps the trial default: it starts, warns, and accepts an unsigned delivery."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        serve = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--bind", f"127.0.0.1:{port}", "--job-workers", "1"],
            cwd=ROOT,
            env=_env(GITLAB_URL="http://127.0.0.1:9", INCIDENT_BOT_DATA_DIR=str(tmp_path / "data")),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            """True once /readyz answers 200; fails fast if serve died."""
            assert serve.poll() is None, log.read_text()
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout=READY_TIMEOUT, what="serve ready", describe=log.read_text)
        answer = requests.post(
            f"http://127.0.0.1:{port}/webhook",
            data=body("issue.open.incident"),
            headers={"X-Gitlab-Event": "Issue Hook", "Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 202, (answer.text, log.read_text())
        assert "LOCAL TRIAL" in log.read_text() and "unverified" in log.read_text()
    finally:
        tree = descendants(serve.pid)
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        for pid, started in tree:
            kill_exact(pid, started)
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=10)
