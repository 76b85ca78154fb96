"""The board's "changes" panel (issue 19): the last 30 days' change-failure rate (`report --changes`' figures) and
the last confirmed causes; a confidential incident's cause is counted, named only to those who may see it.

The seeded index (conftest) plus `tests/changes/causes_seed`: acme/shop's deployments and causes.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import responses
from flask import Flask
from flask.testing import FlaskClient

from service.reports.changes import figures_between
from service.store import Store
from tests.changes.causes_seed import PRIVATE, SECRET, seed_causes, seed_private
from tests.fakegitlab import signing_in

from .conftest import KIOSK_TOKEN
from .helpers import client, sign_in


def panel(page: str) -> str:
    """The changes panel's text, tags dropped, entities read."""
    found = re.search(r'<section aria-labelledby="changes-h">(.*?)</section>', page, re.DOTALL)
    assert found is not None
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()))


def kiosk(app: Flask) -> FlaskClient:
    c = app.test_client()
    assert c.get(f"/board?token={KIOSK_TOKEN}").status_code == 302
    return c


def test_the_panel_shows_the_rate_and_the_last_causes(app: Flask, store: Store, now: datetime) -> None:
    """A kiosk: 3 of 6 deployments over 30 days caused incidents (50%); 4 causes, newest first, the drill's left
    out; the confidential incident's cause is a line saying so and nothing more; the hostile title is inert."""
    seed_causes(store, now)
    page = kiosk(app).get("/board").get_data(as_text=True)
    shown = panel(page)
    assert "Change-failure rate: 50% (3 of 6 successful deployments caused an incident) ." in shown
    assert "acme/shop/production 4 3 75%" in shown and "acme/shop/staging 1 0 0%" in shown
    assert "other projects 1 0 0%" in shown and "acme/payments/production" not in shown  # no incident: not named
    causes = shown[shown.index("Last confirmed causes") :]
    assert causes.startswith("Last confirmed causes 4 acme/shop#13 ")
    assert ": merge request acme/payments!77, confirmed " in causes
    assert re.search(r"acme/payments!77, confirmed [0-9-]+ [0-9:]+ UTC by bob a confidential incident's cause", causes)
    assert 'acme/shop#10 Checkout returns 500: deployment abc2 "Change 2" to production of acme/shop' in causes
    assert "acme/shop#9 Old outage: deployment abc1" in causes
    for hidden in (SECRET, "pangolin", "sirt-frank"):
        assert hidden not in page
    assert "#11" not in shown and "Game day" not in shown and "new-checkout" not in shown  # the drill is on the board
    assert "@all" not in page and "](javascript" not in page and "\n/close" not in page
    assert 'href="/incidents/acme/shop/10"' in page


def test_a_person_who_may_see_the_incident_sees_its_cause(app: Flask, store: Store, now: datetime) -> None:
    """Signed in with access to acme/shop#11: its cause is named, title and change; a page view calls no GitLab."""
    seed_causes(store, now)
    c = client(app)
    sign_in(c, signing_in(confidential=[(1, 11)]))
    with responses.RequestsMock():
        shown = panel(c.get("/board").get_data(as_text=True))
    assert f'acme/shop#11 {SECRET}: deployment abc3 "Rotate the pangolin key" to production' in shown
    assert "a confidential incident's cause" not in shown


def test_the_panel_reads_the_reports_figures_and_follows_the_live_part(app: Flask, store: Store, now: datetime) -> None:
    """One computation: each row of a project with an incident anyone may see is `report --changes`' figure over
    the 30 days; the live JSON carries the panel, and a cause confirmed since shows at the next refresh."""
    seed_causes(store, now)
    c = kiosk(app)
    shown = panel(c.get("/board").get_data(as_text=True))
    for name, f in figures_between(store.engine, now - timedelta(days=30), now).items():
        if name.startswith("acme/shop/"):
            assert f"{name} {f.deployments} {f.caused_incidents} {f.change_failure_rate:.0%}" in shown
    from service.store.causes import Cause, CauseKind, record_cause

    record_cause(store.engine, 42, 2, Cause(42, 2, CauseKind.FEATURE_FLAG, 42, flag_name="slow-search"), now)
    live = panel((c.get("/board/live").json or {})["html"])
    assert live.startswith("Changes, last 30 days") and "Last confirmed causes 5 acme/ops#2 Search is slow" in live


def test_an_index_without_changes_says_how_to_name_a_cause(app: Flask) -> None:
    """No deployment, no cause: the rate says so and the list says how a cause is recorded."""
    shown = panel(kiosk(app).get("/board").get_data(as_text=True))
    assert "no successful deployment in the index over this window" in shown
    assert "No cause confirmed yet: @incident-bot cause <ref> on an incident records one." in shown


def test_the_incident_page_shows_cause_events(app: Flask, store: Store, now: datetime) -> None:
    """42#1's page lists "cause confirmed: <change>" and "cause cleared" with who; the change's text is inert."""
    from service.store.cause_events import cause_event

    hostile = "deployment 7 (abc) to [x](javascript:alert(1)) @all"
    assert store.add_events(42, 1, [cause_event(now, hostile, "im-alice"), cause_event(now, None, "im-bob")])
    page = html.unescape(kiosk(app).get("/incidents/acme/ops/1").get_data(as_text=True))
    assert "cause confirmed: deployment 7 (abc) to" in page and "by im-alice" in page
    assert "cause cleared" in page and "by im-bob" in page
    assert "@all" not in page and "](javascript" not in page


def test_a_project_the_viewer_may_not_see_is_one_other_projects_row(app: Flask, store: Store, now: datetime) -> None:
    """acme/payments has no incident, secret/vault only a confidential one: a kiosk sees neither name, their
    deployments one "other projects" row (counts only); a person who may see secret/vault#1 sees its row."""
    seed_causes(store, now)
    seed_private(store, now)
    page = kiosk(app).get("/board").get_data(as_text=True)
    shown = panel(page)
    assert "acme/shop/production 4 3 75%" in shown and "other projects 2 1 50%" in shown
    assert "acme/payments/production" not in shown and PRIVATE not in shown and "Vault sealed" not in page, shown
    c = client(app)
    sign_in(c, signing_in(confidential=[(3, 1)]))
    shown = panel(c.get("/board").get_data(as_text=True))
    assert f"{PRIVATE}/production 1 1 100%" in shown and "other projects 1 0 0%" in shown
    assert "acme/payments/production" not in shown
