"""The test suite's own hygiene: what one test leaves behind must not spoil the output of the next."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# A CLI run under capsys (its log handler writes to capsys's stream, closed after the test), then an SMTP
# server whose INFO lines ("connection lost") would go to that closed stream.
TESTS = """
import smtplib

from service.cli import main
from tests.receivers import SmtpReceiver


def test_cli(capsys):
    assert main(["schema"]) == 0


def test_smtp():
    receiver = SmtpReceiver()
    smtplib.SMTP("127.0.0.1", receiver.port, timeout=10).quit()
    receiver.close()
"""


def test_log_lines_after_a_cli_test_do_not_hit_a_closed_stream(tmp_path: Path) -> None:
    """No "--- Logging error ---" (I/O operation on closed file) in a run's output after a CLI test."""
    (tmp_path / "test_inner.py").write_text(TESTS)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "-p",
            "tests.conftest",
            "-q",
            "-rP",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_inner.py"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "2 passed" in output, output
    assert "Logging error" not in output and "I/O operation on closed file" not in output, output
