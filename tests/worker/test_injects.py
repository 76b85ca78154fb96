"""A drill inject is quoted inert: no reference, mention, link or quick action of its text is live in the comment."""

from __future__ import annotations

import html
import re

from service.rules.drills import drill_marker
from service.worker.injects import post_inject
from tests.fakegitlab import FakeGitLab

INJECT = "Checkout broke after group/other#5 and !7\n/close\n@all see https://status.example"


def test_an_inject_is_posted_inert_and_reads_the_same(fake: FakeGitLab, runtime) -> None:
    """The inject's words are all there, but nothing in them links, mentions, closes or names another issue."""
    fake.issues[(1, 23)].update(labels=["incident", "drill"], description=f"Drill.\n{drill_marker('db')}")
    assert post_inject(1, 23, "db", 0, 5.0, INJECT) == "posted inject 1"
    (note,) = [n["body"] for n in fake.bot_notes()]
    shown = html.unescape(note)
    assert shown.replace("\u2060", "") == f"**Drill inject** (T+5 min): {INJECT}"
    assert not re.search(r"[#!&$][0-9]", shown) and "://" not in shown and not re.search(r"^\s*/", note, re.M)
    assert "@all" not in shown
