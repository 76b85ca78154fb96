"""Reconcile's durations (`--since`, INCIDENT_BOT_RECONCILE_EVERY) are bounded: a clear error, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.bounds import parse_duration
from tests.conftest import ROOT


@pytest.mark.parametrize("value", ["99999999999d", "999999999999w", "36526d", "5218w1d"])
def test_reconcile_since_out_of_range_exits_2_naming_the_option(value: str) -> None:
    """`reconcile --since 99999999999d` says --since is out of range and exits 2 (it printed an OverflowError)."""
    env = {**os.environ, "GITLAB_TOKEN": "t", "GITLAB_URL": "http://127.0.0.1:9", "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "service.cli", "reconcile", "--project", "g/p", "--since", value]
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--since" in done.stderr and "Traceback" not in done.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_bounded_duration_or_a_value_error(text: str) -> None:
    """Whatever is typed, the answer is a duration of at most a century, or a ValueError saying why."""
    try:
        found = parse_duration(text)
    except ValueError:
        return
    assert found.days <= 36_525
