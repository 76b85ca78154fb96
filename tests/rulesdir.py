"""The shipped rules with test people in the rotations: the shipped rotations hold only placeholders.

`TEST_RULES` is a copy of `rules/` (made once per test process) whose `REPLACE-ME-...` members are the
fake GitLab's users (im-alice, eoc-carol, ...), so the tests staff, assign and mention people.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = {
    "REPLACE-ME-im-1.git": "im-alice",
    "REPLACE-ME-im-2.git": "im-bob",
    "REPLACE-ME-eoc-1.git": "eoc-carol",
    "REPLACE-ME-eoc-2.git": "eoc-dave",
    "REPLACE-ME-cmoc-1.git": "cmoc-erin",
    "REPLACE-ME-sirt-1.git": "sirt-frank",
    "REPLACE-ME-sirt-2.git": "sirt-grace",
    "REPLACE-ME-db-1.git": "db-heidi",
}


def _build() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="incident-bot-test-rules-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    target = folder / "rules"
    shutil.copytree(ROOT / "rules", target)
    roles = target / "roles.yml"
    text = roles.read_text()
    for placeholder, person in PEOPLE.items():
        text = text.replace(placeholder, person)
    roles.write_text(text)
    return target


TEST_RULES = _build()
