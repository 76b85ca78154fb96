"""The incident page shows each phase's checklist progress, counted from the bot's checklist notes."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from service.config import Settings
from service.rules import RuleSet
from service.store import Store
from service.store.checklists import count
from service.web.board import BoardConfig
from service.worker import process_delivery
from tests.conftest import body

from .conftest import GITLAB, KIOSK_TOKEN, board_app

MARKER = "<!-- incident-bot:checklist"


def page_text(client: FlaskClient, path: str) -> str:
    """The page's text with tags dropped and whitespace folded, as a reader sees it."""
    answer = client.get(path)
    assert answer.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True)).split())


def test_count_reads_each_phase_of_a_note_and_stops_at_the_list_end() -> None:
    """Two checklists in one note are counted apart; text after a list is not an item."""
    note = f"{MARKER} identification -->\n- [x] a\n- [ ] b\n\nlater - [x] no\n{MARKER} mitigation -->\n- [X] c\n"
    assert [tuple(p) for p in count(note)] == [("identification", 1, 2), ("mitigation", 1, 1)]


def test_page_shows_items_ticked_when_a_person_edits_the_bots_checklist_note(
    fake, rules: RuleSet, config: BoardConfig, worker_index: Store
) -> None:
    """Ticking an item of the bot's checklist note (a note update) shows `1 of N`; a look-alike comment counts not."""
    index = worker_index
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::2"]
    process_delivery(body("issue.open.incident"), {"delivery_id": "open-1"})
    client = board_app(Settings(gitlab_url=GITLAB), index, rules, config).test_client()
    assert client.get(f"/board?token={KIOSK_TOKEN}").status_code == 302
    assert "No checklist read yet" in page_text(client, "/incidents/1/23")
    note = next(n for n in fake.bot_notes() if MARKER in n["body"])
    found = re.search(rf"{MARKER} (\S+) -->", note["body"])
    assert found is not None
    phase = found.group(1)
    total = len(re.findall(r"^- \[ \] ", note["body"], re.M))
    assert total >= 2
    note["body"] = note["body"].replace("- [ ] ", "- [x] ", 1)  # what the person's edit leaves in GitLab
    edit = body("note.create.incident", id=note["id"], note=note["body"], action="update")
    process_delivery(edit, {"delivery_id": "tick-1"})
    assert f"{phase}: 1 of {total} items ticked" in page_text(client, "/incidents/1/23")
    # Anyone may write the marker in a comment of their own: it is not the bot's checklist.
    fake_list = f"{MARKER} mitigation -->\n- [x] done\n"
    forged = body("note.create.incident", id=999_999, note=fake_list, action="update")
    process_delivery(forged, {"delivery_id": "forged-1"})
    text = page_text(client, "/incidents/1/23")
    assert "mitigation:" not in text and f"{phase}: 1 of {total} items ticked" in text
