"""The board over HTTP: who gets in, what they see, and the headers that keep the page safe."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask

from service.config import Settings
from service.store import Store
from service.web.board import BoardConfig
from tests.fakegitlab import signing_in

from .conftest import GITLAB, KIOSK_TOKEN, SECRET_TITLE, SECRET_WORD, board_app
from .helpers import BASE, client, sign_in


def test_unauthenticated_html_redirects_to_sign_in(app: Flask) -> None:
    """A browser without a session is sent to sign in, and comes back to the page it asked for."""
    answer = client(app).get("/incidents/acme/ops/1")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert target.path == "/board/sign-in"
    assert parse_qs(target.query)["next"] == ["/incidents/acme/ops/1"]


def test_unauthenticated_api_is_401(app: Flask) -> None:
    """The live endpoint and the chart answer 401 (JSON) rather than a redirect a script cannot follow."""
    c = client(app)
    live = c.get("/board/live")
    assert live.status_code == 401
    assert live.is_json and "sign in" in (live.json or {})["error"]
    assert c.get("/board/chart.svg").status_code == 401


def test_sign_in_uses_pkce_and_sets_a_safe_cookie(app: Flask) -> None:
    """Authorization code + PKCE S256 against GITLAB_URL; the session cookie is HttpOnly, SameSite=Lax, Secure."""
    c = client(app)
    person = signing_in()
    answer, authorize = sign_in(c, person)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{GITLAB}/oauth/authorize?")
    assert query["response_type"] == ["code"] and query["client_id"] == ["board-app"]
    assert query["redirect_uri"] == [f"{BASE}/board/auth/callback"]
    assert person.token_requests and person.token_requests[0]["code_verifier"]  # the verifier went to the token call
    assert answer.status_code == 302 and answer.headers["Location"] == "/board"
    cookies = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("incident_bot_board=")]
    assert len(cookies) == 1
    flags = cookies[0].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "secure" in flags and "max-age=28800" in flags
    assert person.tokens and all(token not in cookies[0] for token in person.tokens)  # no GitLab token kept
    board = c.get("/board")
    assert board.status_code == 200
    assert "Signed in as <strong>im-alice</strong>" in board.get_data(as_text=True)


def test_non_member_is_403(app: Flask) -> None:
    """Someone GitLab knows but who is in none of INCIDENT_BOT_BOARD_GROUPS is refused, and gets no session."""
    c = client(app)
    answer, _ = sign_in(c, signing_in(username="outsider", user_id=99, groups=("elsewhere",)))
    assert answer.status_code == 403
    assert "only for members of: acme, acme/sre" in answer.get_data(as_text=True)
    sessions = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("incident_bot_board=")]
    assert sessions == []
    assert c.get("/board").status_code == 302


def test_member_of_a_subgroup_is_admitted(app: Flask) -> None:
    """Any one of the configured groups is enough."""
    c = client(app)
    answer, _ = sign_in(c, signing_in(groups=("acme/sre",)))
    assert answer.status_code == 302
    assert c.get("/board").status_code == 200


def test_callback_with_a_foreign_state_is_refused(app: Flask) -> None:
    """A callback whose state is not the one this browser started (login CSRF) is refused with 400."""
    c = client(app)
    start = c.get("/board/sign-in")
    assert start.status_code == 302
    answer = c.get("/board/auth/callback", query_string={"code": "x", "state": "forged"})
    assert answer.status_code == 400
    assert client(app).get("/board/auth/callback", query_string={"code": "x", "state": "y"}).status_code == 400


def test_confidential_redacted_for_a_person_who_cannot_see_it(app: Flask) -> None:
    """A member who cannot see the confidential issue in GitLab sees only severity and phase."""
    c = client(app)
    sign_in(c, signing_in(confidential=[]))
    page = c.get("/board").get_data(as_text=True)
    assert SECRET_TITLE not in page
    assert "confidential incident, severity 2, phase identification" in page
    assert "Checkout errors for EU customers" in page
    detail = c.get("/incidents/acme/security/3").get_data(as_text=True)
    assert SECRET_TITLE not in detail and "confidential incident, severity 2" in detail
    live = (c.get("/board/live").json or {})["html"]
    assert SECRET_TITLE not in live


def test_confidential_shown_to_a_person_who_can_see_it(app: Flask) -> None:
    """GitLab's answer at sign-in (the person's own token) decides; the page view itself calls nothing."""
    c = client(app)
    sign_in(c, signing_in(confidential=[(43, 3)]))
    with responses.RequestsMock():  # any GitLab call from a page view would fail here
        page = c.get("/board").get_data(as_text=True)
        detail = c.get("/incidents/acme/security/3").get_data(as_text=True)
        found = c.get("/incidents", query_string={"q": SECRET_WORD}).get_data(as_text=True)
    assert SECRET_TITLE in page and SECRET_TITLE in detail and SECRET_TITLE in found


def test_kiosk_token_is_exchanged_for_a_cookie_and_never_sees_confidential(app: Flask) -> None:
    """`/board?token=` answers with a redirect to a clean URL and a cookie; the kiosk sees no confidential title."""
    c = client(app)
    exchange = c.get(f"/board?token={KIOSK_TOKEN}")
    assert exchange.status_code == 302 and exchange.headers["Location"] == "/board"
    page = c.get("/board")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Kiosk display" in text
    assert SECRET_TITLE not in text and KIOSK_TOKEN not in text
    assert "confidential incident, severity 2, phase identification" in text
    assert SECRET_TITLE not in c.get("/incidents/acme/security/3").get_data(as_text=True)
    assert SECRET_TITLE not in c.get("/incidents", query_string={"q": SECRET_WORD}).get_data(as_text=True)


def test_kiosk_bearer_token_on_the_live_endpoint(app: Flask) -> None:
    """A bearer header works once and leaves a cookie; a wrong token is 401."""
    c = client(app)
    answer = c.get("/board/live", headers={"Authorization": f"Bearer {KIOSK_TOKEN}"})
    assert answer.status_code == 200 and SECRET_TITLE not in (answer.json or {})["html"]
    assert c.get("/board/live").status_code == 200  # the cookie now
    wrong = client(app).get("/board/live", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert client(app).get("/board?token=nope").status_code == 401


def test_forged_session_cookie_is_ignored(app: Flask) -> None:
    """A cookie not signed with the board's key counts as no session."""
    c = client(app)
    c.set_cookie("incident_bot_board", "eyJrIjoicGVyc29uIn0.forged.sig", domain="board.example.com")
    assert c.get("/board").status_code == 302
    assert c.get("/board/live").status_code == 401


def test_every_page_has_a_strict_csp(app: Flask) -> None:
    """Pages carry a Content-Security-Policy without unsafe-inline or unsafe-eval, and refuse framing."""
    c = client(app)
    c.get(f"/board?token={KIOSK_TOKEN}")
    for path in ("/board", "/incidents", "/incidents/acme/ops/1", "/board/live", "/board/static/board.js"):
        answer = c.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    page = c.get("/board").get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page and " on" + "load=" not in page
    svg = c.get("/board/chart.svg")
    assert svg.mimetype == "image/svg+xml" and b"<script" not in svg.data
    assert "script" not in svg.headers["Content-Security-Policy"].replace("default-src 'none'", "")


def test_sign_out_needs_the_csrf_token(app: Flask) -> None:
    """POST /board/sign-out without the form's token is refused; with it the cookie is removed."""
    c = client(app)
    sign_in(c, signing_in())
    page = c.get("/board").get_data(as_text=True)
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert c.post("/board/sign-out").status_code == 403
    assert c.post("/board/sign-out", data={"csrf": "wrong"}).status_code == 403
    assert c.get("/board").status_code == 200
    out = c.post("/board/sign-out", data={"csrf": token})
    assert out.status_code == 200
    assert c.get("/board").status_code == 302


def test_open_redirect_after_sign_in_is_not_possible(app: Flask) -> None:
    """`next` pointing at another site sends the person to the board instead."""
    c = client(app)
    answer, _ = sign_in(c, signing_in(), next_path="//evil.example.com/x")
    assert answer.headers["Location"] == "/board"


@pytest.mark.parametrize("remote, status", [("127.0.0.1", 200), ("::1", 200), ("10.1.2.3", 403)])
def test_local_trial_without_oauth_is_localhost_only(store: Store, rules, remote: str, status: int) -> None:
    """Without sign-in settings the board is shown to this machine only, and says so."""
    app = board_app(Settings(local_trial=True), store, rules, BoardConfig())
    answer = app.test_client().get("/board", environ_base={"REMOTE_ADDR": remote})
    assert answer.status_code == status
    text = answer.get_data(as_text=True)
    assert "this machine only" in text
    if status == 200:
        assert SECRET_TITLE not in text and "Checkout errors for EU customers" in text


def test_local_trial_cookie_is_not_secure(store: Store, rules) -> None:
    """In a local trial (plain HTTP) the kiosk cookie drops `Secure`; outside one it keeps it."""
    app = board_app(Settings(local_trial=True), store, rules, BoardConfig(kiosk_token=KIOSK_TOKEN))
    answer = app.test_client().get(f"/board?token={KIOSK_TOKEN}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    cookie = answer.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_board_order_and_overdue(app: Flask) -> None:
    """Active incidents: severity 1 first, then 2, then 3; the severity-1 update 50 min old against 30 is overdue."""
    c = client(app)
    c.get(f"/board?token={KIOSK_TOKEN}")
    page = c.get("/board").get_data(as_text=True)
    active = page.split('id="active-h"', 1)[1].split('id="recent-h"', 1)[0]
    first, second, third = (active.index(s) for s in ("Checkout errors", "confidential incident", "Search is slow"))
    assert first < second < third
    row = active.split("Checkout errors", 1)[1].split("</tr>", 1)[0]
    assert "Overdue" in row and "(due every 30 min)" in row
    assert "Overdue" not in active.split("confidential incident", 1)[1].split("</tr>", 1)[0]
    recent = page.split('id="recent-h"', 1)[1].split('id="month-h"', 1)[0]
    assert "Login outage" in recent and "Ancient disk alarm" not in recent


def test_incident_page_shows_timeline_and_roles(app: Flask) -> None:
    """The incident page lists its timeline events and the roles staffed."""
    c = client(app)
    c.get(f"/board?token={KIOSK_TOKEN}")
    page = c.get("/incidents/acme/ops/1").get_data(as_text=True)
    assert "Timeline" in page and "severity none → 1" in page and "status update" in page
    assert "incident-manager: nobody → im-alice" in page
    assert c.get("/incidents/acme/ops/999").status_code == 404


@pytest.mark.parametrize(
    "query, status",
    [
        ({"severity": "9"}, 400),
        ({"from": "yesterday"}, 400),
        ({"q": "x" * 201}, 400),
        ({"q": "checkout", "severity": "1", "from": "2020-01-01"}, 200),
    ],
)
def test_search_arguments(app: Flask, query: dict[str, str], status: int) -> None:
    """Search over title and description with severity and start filters; bad arguments are a clear 400."""
    c = client(app)
    c.get(f"/board?token={KIOSK_TOKEN}")
    answer = c.get("/incidents", query_string=query)
    assert answer.status_code == status
    if status == 200:
        assert "Checkout errors for EU customers" in answer.get_data(as_text=True)
    else:
        assert "must be" in answer.get_data(as_text=True) or "at most" in answer.get_data(as_text=True)


def test_search_matches_description(app: Flask) -> None:
    """Full text covers the description, not only the title."""
    c = client(app)
    c.get(f"/board?token={KIOSK_TOKEN}")
    text = c.get("/incidents", query_string={"q": "payments 502"}).get_data(as_text=True)
    assert "Checkout errors for EU customers" in text and "Search is slow" not in text


def test_unreachable_index_is_503_not_500(rules) -> None:
    """An index that does not answer (PostgreSQL down) gives a clear 503 page, and 503 JSON to the live poll."""
    from service.store import open_store
    from tests.e2e.harness import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    app = board_app(Settings(local_trial=True), lambda: open_store(url), rules, BoardConfig())
    c = app.test_client()
    page = c.get("/board", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert page.status_code == 503 and "Incident index unavailable" in page.get_data(as_text=True)
    live = c.get("/board/live", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert live.status_code == 503 and (live.json or {})["error"].startswith("incident index unavailable")


def test_a_session_works_on_every_web_process(store: Store, rules) -> None:
    """Two app processes with the same settings accept each other's cookies (a key derived from a server secret)."""
    config = BoardConfig(client_id="public-app", groups=("acme",), kiosk_token=KIOSK_TOKEN)  # PKCE, no secret
    settings = Settings(gitlab_url=GITLAB, webhook_secret="hook-secret")
    first, second = client(board_app(settings, store, rules, config)), client(board_app(settings, store, rules, config))
    exchange = first.get(f"/board?token={KIOSK_TOKEN}")
    cookie = exchange.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    second.set_cookie("incident_bot_board", cookie, domain="board.example.com")
    assert second.get("/board").status_code == 200
    other = client(board_app(Settings(gitlab_url=GITLAB, webhook_secret="other"), store, rules, config))
    other.set_cookie("incident_bot_board", cookie, domain="board.example.com")
    assert other.get("/board").status_code == 302
