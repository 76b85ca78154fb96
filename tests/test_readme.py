"""The user docs say what the program does: the README's `simulate` example is its output, no tracker talk."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_simulate_example_is_what_simulate_prints() -> None:
    """Each line the README shows under `$ incident-bot simulate ...` is the command's own output, in order."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"\$ incident-bot simulate (\S+)\n(.*?)\n  \.\.\.\n", readme, re.S)
    assert block, "the README shows a simulate example"
    shown = block.group(2).splitlines()
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "simulate", block.group(1)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[: len(shown)] == shown


def test_no_tracker_numbers_or_round_names_in_the_docs() -> None:
    """User docs speak of the product, not of how it was built: no `issue 12`, no `previous round`."""
    found = [
        f"{path.name}: {match.group(0)}"
        for path in DOCS
        for match in re.finditer(r"\bissue \d+\b|\b(previous|this|last|next) round\b|\brounds? ago\b", path.read_text())
    ]
    assert found == []
