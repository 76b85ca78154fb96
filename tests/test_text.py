"""User text reaching a comment is inert: no quick actions, no mass mentions, no raw HTML."""

from __future__ import annotations

import re

import pytest

from service.incident import strip_memory
from service.text import checklist_items, neutralise, ref, ref_text
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


@pytest.mark.parametrize(
    ("path", "kind", "iid", "url", "shown"),
    [
        ("group/project", "#", 12, None, "group/project#12"),
        (None, "!", 7, None, "!7"),
        (
            "group/sub/project",
            "!",
            7,
            "https://gitlab.test/x/-/merge_requests/7",
            "[group/sub/project!7](https://gitlab.test/x/-/merge_requests/7)",
        ),
        ("group", "&", 3, "javascript:alert(1)", "group&3"),  # no link but to a plain http(s) URL
        ("42", "#", 5, None, "42#\u20605"),  # a project's id is no path: `42#5` would name project "42"
        ("a b/@all", "#", 1, None, "a b/@\u2060all#\u20601"),  # no path: what it says, inert
    ],
)
def test_the_bots_own_reference(path: str | None, kind: str, iid: int, url: str | None, shown: str) -> None:
    """`ref`: the bot's reference live (a link to a plain http(s) URL), anything that is no path inert."""
    assert ref(path, kind, iid, url) == shown


def test_ref_refuses_what_is_no_reference() -> None:
    """A kind GitLab has no reference for, or no iid, is the caller's bug: refused, never written."""
    for kind, iid in (("%", 1), ("#", -1), ("#", True)):
        with pytest.raises(ValueError):
            ref("group/project", kind, iid)


def test_ref_text_is_live_only_for_a_whole_reference() -> None:
    """`ref_text`: GitLab's full reference live; a sentence holding one, or a bad path, inert."""
    assert ref_text("group/project!12", "https://gitlab.test/m/12") == "[group/project!12](https://gitlab.test/m/12)"
    assert ref_text("#23") == "#23"
    assert ref_text("see #23") == "see #\u206023"
    assert ref_text("x y#5") == "x y#\u20605"
