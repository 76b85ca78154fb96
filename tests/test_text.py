"""User text reaching a comment is inert: no quick actions, no mass mentions, no raw HTML."""

from __future__ import annotations

import re

from service.incident import strip_memory
from service.text import checklist_items, neutralise
from service.worker import process_delivery
from tests.conftest import body

QUICK_ACTION = re.compile(r"^\s*/\w+", re.MULTILINE)
MASS_MENTION = re.compile(r"@(all|here|channel|everyone)\b")


def test_neutralise_quick_actions_mentions_and_html() -> None:
    """Each dangerous form is escaped, and the text still reads the same when rendered."""
    text = "/close\n  /label ~foo\n@all look <script>alert(1)</script>"
    safe = neutralise(text)
    assert not QUICK_ACTION.search(safe)
    assert not MASS_MENTION.search(safe)
    assert "<script>" not in safe and "&lt;script&gt;" in safe
    assert safe.splitlines()[0] == "&#47;close"


def test_incident_titled_like_a_quick_action_cannot_close_itself(fake, runtime) -> None:
    """An incident titled `/close` with `@all` in it: the bot's comment neither closes nor mass-mentions."""
    process_delivery(body("issue.open.incident", title="/close\n@all /assign @mallory"), {"delivery_id": "n1"})
    (note,) = fake.bot_notes()
    posted = strip_memory(note["body"])
    assert not QUICK_ACTION.search(posted), posted
    assert not MASS_MENTION.search(posted)
    assert "@mallory" not in posted
    assert fake.issues[(1, 23)]["state"] == "opened"


def test_checklist_items() -> None:
    """Ticked and unticked task-list items are read back from a checklist."""
    body_text = "- [x] done one\n- [ ] open one\n* [X] done two\n- [ ] open two\n\nnot part of it\n- [ ] later"
    assert checklist_items(body_text, ticked=False) == ["open one", "open two"]
    assert checklist_items(body_text, ticked=True) == ["done one", "done two"]
