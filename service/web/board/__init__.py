"""The incident board: a live page of incidents from the index, behind GitLab sign-in or a kiosk token.

`board_blueprint(settings, store, rules)` is registered by the app factory (`store` may be
`open_store`, opened at the first page view); the pages read only the index and the rules
(a page view never calls GitLab). Access: `access` and `session`; sign-in round trip:
`signin`; reads: `queries`; what a row shows: `view`; the 30-day block: `summary`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, g, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Answer

from service import bounds
from service.config import Settings
from service.reports.targets import targets_from_rules
from service.rules import RuleSet
from service.store import Scope, Store
from service.store.measure import measured

from . import queries
from .access import OFF_LOG, admit, board_cookies, local_trial, refusal
from .chart import trend_svg
from .config import BoardConfig
from .session import Kind, Viewer
from .signin import GitLabSignIn
from .signin_views import add_sign_in
from .summary import FRESH_SECONDS, WINDOW_DAYS, Cached, month
from .text import user_text
from .view import Shown, line, ref

__all__ = ["BoardConfig", "board_blueprint"]

log = logging.getLogger("incident_bot.board")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # pygal's own <style>; an image runs no script


def board_blueprint(
    settings: Settings,
    store: Store | Callable[[], Store],
    rules: RuleSet,
    config: BoardConfig | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Blueprint:
    """The board's pages (`/board`, `/incidents/...`), sign-in and sign-out, static files; config from the env."""
    config = config or BoardConfig.from_env()
    now_of = clock or (lambda: datetime.now(UTC))
    cookies = board_cookies(config, settings)
    trial = local_trial(settings)
    if not (config.oauth or config.kiosk_token or trial):
        log.warning(OFF_LOG)  # once, at the start: the pages say it to each request
    gitlab = (
        GitLabSignIn(settings.gitlab_url, config.client_id, config.client_secret, timeout=settings.gitlab_timeout)
        if config.oauth
        else None
    )
    targets = targets_from_rules(rules)
    index = opened(store)
    month_cache = Cached(lambda: month(index(), rules, targets, now_of()))

    def trend(scheme: str) -> Callable[[], str]:
        def draw() -> str:
            now = now_of()
            scope = Scope(started_from=now - timedelta(days=WINDOW_DAYS), started_to=now, include_drills=False)
            return trend_svg(measured(index().engine, scope, now), now, scheme)

        return draw

    chart_caches = {scheme: Cached(trend(scheme)) for scheme in ("light", "dark")}
    bp = Blueprint(
        "board", __name__, template_folder="templates", static_folder="static", static_url_path="/board/static"
    )

    @bp.context_processor
    def helpers() -> dict[str, Any]:
        return {"u": user_text}

    def page(template: str, status: int = 200, **context: Any) -> Answer:
        viewer = g.get("board_viewer")
        response = make_response(render_template(template, viewer=viewer, config=config, **context), status)
        return response

    def message(status: int, title: str, text: str) -> Answer:
        return page("board/message.html", status, title=title, text=text)

    def fresh(viewer: Viewer) -> bool:
        return viewer.fresh(config.access_minutes * 60, time.time())

    def may_see(viewer: Viewer) -> Callable[[Shown], bool]:
        current = fresh(viewer)
        return lambda row: viewer.may_see(row.project_id, row.iid, row.confidential, fresh=current)

    def guard(api: bool = False) -> Answer | None:
        """Admit the request (g.board_viewer) or answer it: a sign-in redirect, or 401/403/404 saying what to set."""
        admission = admit(request, config, cookies, trial=trial)
        g.board_viewer = admission.viewer
        if admission.bad_token:
            return (
                _json(401, error="kiosk token not valid")
                if api
                else message(401, "Not signed in", "That kiosk token is not valid.")
            )
        viewer = admission.viewer
        if viewer is None:
            if config.oauth:
                return _json(401, error="sign in first") if api else redirect(sign_in_path())
            status, text = refusal(config, trial)
            return _json(status, error=text) if api else message(status, "Board not available", text)
        if viewer.kind is Kind.PERSON and not api and not fresh(viewer):
            # Access to confidential incidents is trusted briefly: re-check it with a (silent) GitLab round trip.
            return redirect(sign_in_path())
        if admission.presented_token:
            if request.args.get("token"):
                # Exchanged for a cookie at once: the token leaves the address bar (and the history).
                response = redirect(_without_token())
                cookies.issue(response, Kind.KIOSK)
                return response
            g.issue_kiosk_cookie = True  # a bearer header, too, is presented once
        return None

    def sign_in_path() -> str:
        return url_for("board.sign_in", next=request.full_path.rstrip("?"))

    @bp.errorhandler(sa.exc.OperationalError)
    def index_unavailable(exc: Exception) -> Answer:
        log.warning("incident index unavailable: %s", str(exc).splitlines()[0][:200])
        if request.path.startswith(("/board/live", "/board/chart")):
            return _json(503, error="incident index unavailable, retrying")
        return message(503, "Incident index unavailable", "The incident index does not answer; try again shortly.")

    @bp.after_request
    def headers(response: Answer) -> Answer:
        if getattr(g, "issue_kiosk_cookie", False):
            cookies.issue(response, Kind.KIOSK)
        if response.mimetype != "image/svg+xml":
            response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def board_context(viewer: Viewer) -> dict[str, Any]:
        now = now_of()
        see = may_see(viewer)
        active, recent = queries.board(index(), now)
        entered = queries.phase_entered(index(), [r.id for r in active])
        summary = month_cache.get()
        return {
            "now": now,
            "active": [line(r, rules, now, may_see=see, entered_phase=entered) for r in active],
            "recent": [line(r, rules, now, may_see=see) for r in recent],
            "summary": summary.rows,
            "window_count": summary.incidents,
            "window_open": summary.unresolved,
            "stale": viewer.kind is Kind.PERSON and not fresh(viewer),
        }

    @bp.get("/board")
    def board() -> Answer:
        denied = guard()
        if denied is not None:
            return denied
        return page("board/board.html", **board_context(g.board_viewer))

    @bp.get("/board/live")
    def live() -> Answer:
        denied = guard(api=True)
        if denied is not None:
            return denied
        context = board_context(g.board_viewer)
        html = render_template("board/live.html", viewer=g.board_viewer, config=config, **context)
        return _json(200, html=html, updated=context["now"].strftime("%H:%M:%S UTC"), stale=context["stale"])

    @bp.get("/board/chart.svg")
    def chart() -> Answer:
        denied = guard(api=True)
        if denied is not None:
            return denied
        scheme = "dark" if request.args.get("scheme") == "dark" else "light"
        response = Response(chart_caches[scheme].get(), mimetype="image/svg+xml")
        response.headers["Content-Security-Policy"] = SVG_CSP
        response.headers["Cache-Control"] = f"private, max-age={int(FRESH_SECONDS)}"
        return response

    @bp.get("/incidents/<path:project>/<int:iid>")
    def incident(project: str, iid: int) -> Answer:
        denied = guard()
        if denied is not None:
            return denied
        row = queries.find(index(), project, iid)
        if row is None:
            return message(404, "No such incident", "The index has no incident with that project and number.")
        now = now_of()
        shown = line(
            row, rules, now, may_see=may_see(g.board_viewer), entered_phase=queries.phase_entered(index(), [row.id])
        )
        events = [] if shown.redacted else index().timeline(row.project_id, row.iid)
        phases = [p.name for p in rules.phases]
        more = queries.FollowUps([], None, []) if shown.redacted else queries.follow_ups(index(), row, phases)
        facts: dict[str, Any] = {"events": events, **more._asdict()}
        return page("board/incident.html", incident=shown, row=row, ref=ref(row), now=now, **facts)

    @bp.get("/incidents")
    def search() -> Answer:
        denied = guard()
        if denied is not None:
            return denied
        text = request.args.get("q", "")
        raw_severity = request.args.get("severity", "").strip()
        raw_from = request.args.get("from", "").strip()
        if len(text) > queries.MAX_QUERY:
            return message(400, "Search too long", f"Search for at most {queries.MAX_QUERY} characters.")
        try:
            severity = bounds.integer(raw_severity, "severity", 0, bounds.MAX_IID) if raw_severity else None
        except bounds.OutOfBounds:
            severity = None
        if raw_severity and severity not in rules.severities:
            levels = ", ".join(str(s) for s in sorted(rules.severities))
            return message(400, "Unknown severity", f"severity must be one of {levels}.")
        try:
            since = bounds.day(raw_from, "from") if raw_from else None
        except bounds.OutOfBounds as exc:
            return message(400, "Unknown date", f"{exc}.")
        viewer: Viewer = g.board_viewer
        visible = viewer.visible if viewer.kind is Kind.PERSON and fresh(viewer) else frozenset()
        rows = queries.search(index(), text=text, severity=severity, since=since, visible=visible)
        now = now_of()
        found = [line(r, rules, now, may_see=may_see(viewer)) for r in rows]
        return page(
            "board/search.html",
            found=found,
            q=text,
            severity=raw_severity,
            since=raw_from,
            levels=sorted(rules.severities),
            limit=queries.MAX_RESULTS,
        )

    add_sign_in(bp, config=config, cookies=cookies, gitlab=gitlab, rules=rules, index=index, message=message)
    return bp


def opened(store: Store | Callable[[], Store]) -> Callable[[], Store]:
    """A getter of the store, opening it on first use when given a function (`open_store`)."""
    # The app factory passes `open_store`: the edge starts, and its tests run, without a database.
    if isinstance(store, Store):
        return lambda: store
    lock = threading.Lock()
    held: list[Store] = []

    def get() -> Store:
        if not held:
            with lock:
                if not held:
                    held.append(store())
        return held[0]

    return get


def _json(status: int, **body: Any) -> Answer:
    response = jsonify(body)
    response.status_code = status
    return response


def _without_token() -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
    return request.path + ("?" + urlencode(kept) if kept else "")
