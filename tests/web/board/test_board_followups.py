"""Follow-ups on the board (issue 20): the "overdue follow-ups" panel and each incident page's list of them.

The seeded index (conftest) holds incident 42#1 (open), 42#2 and the confidential 43#3 (acme/security).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, cast

import responses
from flask import Flask
from flask.testing import FlaskClient

from service.corrective import FollowUpIssue
from service.store import Store
from service.store.corrective import record
from tests.fakegitlab import signing_in

from .conftest import KIOSK_TOKEN, SECRET_TITLE
from .helpers import client, sign_in

SECRET_ACTION = "Rotate the pangolin signing key"
HOSTILE = "@all <script>alert(1)</script> https://evil.example.com"


def seed(store: Store, now: datetime) -> None:
    """Five follow-ups: two overdue of 42#1 (one hostile), one not due, one closed, one overdue of 43#3, one
    overdue whose own issue is confidential."""
    today = now.date()

    def issue(iid: int, title: str, owner: str | None, due: date | None, **more: object) -> FollowUpIssue:
        opened = now - timedelta(days=40)
        return FollowUpIssue(
            42, iid, title=title, url=f"https://gitlab.example.com/acme/ops/-/issues/{iid}", owner=owner, due_on=due,
            opened_at=opened, updated_at=opened, project_path="acme/ops", **cast(Any, more),
        )  # fmt: skip

    record(store.engine, (42, 1), issue(201, "Add a canary for checkout", "db-heidi", today - timedelta(days=9)), now)
    record(store.engine, (42, 1), issue(202, HOSTILE, None, today), now)
    record(store.engine, (42, 1), issue(203, "Alert on queue depth", "bob", today + timedelta(days=5)), now)
    closed = issue(204, "Fix the runbook", "bob", today - timedelta(days=20), state="closed", closed_at=now)
    record(store.engine, (42, 1), closed, now)
    record(store.engine, (43, 3), issue(205, SECRET_ACTION, "sirt-frank", today - timedelta(days=3)), now)
    secret = issue(206, "Hidden follow-up title", "eoc-carol", today - timedelta(days=1), confidential=True)
    record(store.engine, (42, 2), secret, now)


def text(c: FlaskClient, path: str) -> str:
    """A page's HTML."""
    answer = c.get(path)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def panel(html: str) -> str:
    """The overdue follow-ups panel's text, tags dropped."""
    found = re.search(r'<section aria-labelledby="late-h">(.*?)</section>', html, re.DOTALL)
    assert found is not None
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_panel_lists_overdue_follow_ups_most_overdue_first(app: Flask, store: Store, now: datetime) -> None:
    """A kiosk: 4 overdue (not the one due later, not the closed one); the confidential incident's and the
    confidential issue's are unnamed; the hostile title is inert."""
    seed(store, now)
    c = app.test_client()
    assert c.get(f"/board?token={KIOSK_TOKEN}").status_code == 302
    html = text(c, "/board")
    shown = panel(html)
    assert shown.startswith("Overdue follow-ups 4 ")
    assert "acme/ops#201 Add a canary for checkout db-heidi" in shown and "9 days" in shown
    assert shown.index("#201") < shown.index("confidential follow-up") < shown.index("due today")
    assert "confidential follow-up hidden" in shown and "confidential incident" in shown
    for hidden in (SECRET_ACTION, "sirt-frank", "Hidden follow-up", "#206"):
        assert hidden not in html
    assert "Alert on queue depth" not in shown and "Fix the runbook" not in shown
    assert "no owner yet" in shown and "due today" in shown
    assert "<script>alert" not in html and "@all" not in html and 'href="https://evil' not in html
    live = (c.get("/board/live").json or {})["html"]
    assert "Overdue follow-ups" in live and SECRET_ACTION not in live


def test_a_person_who_may_see_the_incident_sees_its_follow_ups(app: Flask, store: Store, now: datetime) -> None:
    """Signed in with access to 43#3: its follow-up is named; a confidential follow-up issue still is not."""
    seed(store, now)
    c = client(app)
    sign_in(c, signing_in(confidential=[(43, 3)]))
    with responses.RequestsMock():  # a page view calls no GitLab
        html = text(c, "/board")
        page = text(c, "/incidents/acme/security/3")
    assert SECRET_ACTION in panel(html) and "sirt-frank" in panel(html)
    assert "Hidden follow-up" not in html and "#206" not in html
    assert SECRET_ACTION in page and SECRET_TITLE in page


def test_the_incident_page_lists_each_follow_up(app: Flask, store: Store, now: datetime) -> None:
    """42#1's page: its four follow-ups with owner, due, state and overdue days, in the order opened."""
    seed(store, now)
    c = app.test_client()
    assert c.get(f"/board?token={KIOSK_TOKEN}").status_code == 302
    html = text(c, "/incidents/acme/ops/1")
    found = re.search(r'<section aria-labelledby="corrective-h">(.*?)</section>', html, re.DOTALL)
    assert found is not None
    cells = re.findall(r"<tr class=.*?</tr>", found.group(1), re.S)
    rows = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in cells]
    today = now.date()
    assert len(rows) == 4
    assert rows[0] == f"acme/ops#201 Add a canary for checkout db-heidi {today - timedelta(days=9)} open 9 days"
    assert rows[1].startswith("acme/ops#202 ") and rows[1].endswith(f"no owner yet {today} open due today")
    assert rows[2] == f"acme/ops#203 Alert on queue depth bob {today + timedelta(days=5)} open —"
    assert rows[3] == f"acme/ops#204 Fix the runbook bob {today - timedelta(days=20)} closed —"
    assert "@all" not in rows[1] and "&lt;script&gt;" in found.group(1)
    # A kiosk on the confidential incident's page sees no follow-up at all (the page is redacted).
    assert SECRET_ACTION not in text(c, "/incidents/acme/security/3")
    # An incident without follow-ups says how to open one.
    assert "No follow-up recorded for this incident" in text(c, "/incidents/acme/ops/4")
