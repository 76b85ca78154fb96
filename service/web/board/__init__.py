"""The incident board: a live page of incidents from the index, behind GitLab sign-in or a kiosk token.

`register_board(app, settings, store, rules)` is called by the app factory (`store` may be
`open_store`, opened at the first page view): it keeps the board's state (`state.Board`) in the
app's extensions and registers the module-level `blueprint`, whose views read that state. The
pages read only the index and the rules (a page view never calls GitLab). Admission (a session,
a kiosk token or the local trial) is the `admitted` decorator: `access` and `session`; sign-in
round trip: `signin`, `signin_views`; reads: `queries`; what a row shows: `view`; the 30-day
block: `summary`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Answer

from service import bounds
from service.config import Settings
from service.rules import RuleSet
from service.store import Store

from . import changes, corrective, queries, signin_views
from .access import admit, refusal, secure
from .answers import json_answer, message, page
from .config import BoardConfig
from .session import Viewer, ViewerKind
from .state import KEY, board, build
from .summary import FRESH_SECONDS
from .text import user_text
from .view import Shown, line, ref

__all__ = ["BoardConfig", "blueprint", "register_board"]

log = logging.getLogger("incident_bot.board")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # pygal's own <style>; an image runs no script
P = ParamSpec("P")

blueprint = Blueprint(
    "board", __name__, template_folder="templates", static_folder="static", static_url_path="/board/static"
)
blueprint.add_url_rule("/board/sign-in", view_func=signin_views.sign_in, methods=["GET"])
blueprint.add_url_rule("/board/auth/callback", view_func=signin_views.callback, methods=["GET"])
blueprint.add_url_rule("/board/sign-out", view_func=signin_views.sign_out, methods=["POST"])


def register_board(
    app: Flask,
    settings: Settings,
    store: Store | Callable[[], Store],
    rules: RuleSet,
    config: BoardConfig | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Add the board's pages (`/board`, `/incidents/...`), sign-in and sign-out, static files; config from the env."""
    app.extensions[KEY] = build(settings, store, rules, config or BoardConfig.from_env(), clock)
    app.register_blueprint(blueprint)


def admitted(api: bool = False) -> Callable[[Callable[P, Answer]], Callable[P, Answer]]:
    """A view run only for an admitted viewer (g.board_viewer); else the refusal `guard` answers."""

    def wrap(view: Callable[P, Answer]) -> Callable[P, Answer]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Answer:
            denied = guard(api)
            return denied if denied is not None else view(*args, **kwargs)

        return guarded

    return wrap


def guard(api: bool = False) -> Answer | None:
    """Admit the request (g.board_viewer) or answer it: a sign-in redirect, or 401/403/404 saying what to set."""
    shared = board()
    config, cookies, trial = shared.config, shared.cookies, shared.trial
    admission = admit(request, config, cookies, trial=trial)
    g.board_viewer = admission.viewer
    if admission.bad_token:
        return (
            json_answer(401, error="kiosk token not valid")
            if api
            else message(401, "Not signed in", "That kiosk token is not valid.")
        )
    viewer = admission.viewer
    if viewer is None:
        if config.oauth:
            return json_answer(401, error="sign in first") if api else redirect(_sign_in_path())
        status, text = refusal(config, trial)
        return json_answer(status, error=text) if api else message(status, "Board not available", text)
    if viewer.kind is ViewerKind.PERSON and not api and not _fresh(viewer):
        # Access to confidential incidents is trusted briefly: re-check it with a (silent) GitLab round trip.
        return redirect(_sign_in_path())
    if admission.presented_token:
        if request.args.get("token"):
            # Exchanged for a cookie at once: the token leaves the address bar (and the history).
            response = redirect(_without_token())
            cookies.issue(response, ViewerKind.KIOSK)
            return response
        g.issue_kiosk_cookie = True  # a bearer header, too, is presented once
    return None


@blueprint.context_processor
def helpers() -> dict[str, Any]:
    """What every board template may call: `u` (user text made inert)."""
    return {"u": user_text}


@blueprint.errorhandler(sa.exc.OperationalError)
def index_unavailable(exc: Exception) -> Answer:
    """The index does not answer: 503, as JSON for the live parts."""
    log.warning("incident index unavailable: %s", str(exc).splitlines()[0][:200])
    if request.path.startswith(("/board/live", "/board/chart")):
        return json_answer(503, error="incident index unavailable, retrying")
    return message(503, "Incident index unavailable", "The incident index does not answer; try again shortly.")


@blueprint.after_request
def headers(response: Answer) -> Answer:
    """The board's security headers, and the kiosk cookie for a token presented in a header."""
    if getattr(g, "issue_kiosk_cookie", False):
        board().cookies.issue(response, ViewerKind.KIOSK)
    return secure(response, CSP if response.mimetype != "image/svg+xml" else None)


@blueprint.get("/board", endpoint="board")  # `board` is the state getter
@admitted()
def board_page() -> Answer:
    """The board: active incidents, the recently resolved, the 30-day summary."""
    return page("board/board.html", **_board_context(g.board_viewer))


@blueprint.get("/board/live")
@admitted(api=True)
def live() -> Answer:
    """The board's live part as JSON (HTML of the tables, when, whether the access is stale)."""
    context = _board_context(g.board_viewer)
    html = render_template("board/live.html", viewer=g.board_viewer, config=board().config, **context)
    return json_answer(200, html=html, updated=context["now"].strftime("%H:%M:%S UTC"), stale=context["stale"])


@blueprint.get("/board/chart.svg")
@admitted(api=True)
def chart() -> Answer:
    """The 30-day trend chart (cached; light or dark)."""
    scheme = "dark" if request.args.get("scheme") == "dark" else "light"
    response = Response(board().charts[scheme].get(), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Cache-Control"] = f"private, max-age={int(FRESH_SECONDS)}"
    return response


@blueprint.get("/incidents/<path:project>/<int:iid>")
@admitted()
def incident(project: str, iid: int) -> Answer:
    """One incident: its row, timeline and follow-ups (redacted when the viewer may not see it)."""
    shared = board()
    index, rules = shared.index, shared.rules
    row = queries.find(index(), project, iid)
    if row is None:
        return message(404, "No such incident", "The index has no incident with that project and number.")
    now = shared.now()
    shown = line(
        row, rules, now, may_see=_may_see(g.board_viewer), entered_phase=queries.phase_entered(index(), [row.id])
    )
    events = [] if shown.redacted else index().timeline(row.project_id, row.iid)
    phases = [p.name for p in rules.phases]
    more = queries.IncidentFollowUps([], None, []) if shown.redacted else queries.follow_ups(index(), row, phases)
    actions = [] if shown.redacted else corrective.of_page(index(), row, _may_see_issue(g.board_viewer), now.date())
    facts: dict[str, Any] = {"events": events, **more._asdict(), "corrective": actions}
    return page("board/incident.html", incident=shown, row=row, ref=ref(row), now=now, **facts)


@blueprint.get("/incidents")
@admitted()
def search() -> Answer:
    """Search the index by text, severity and start date (confidential ones only for those who may see them)."""
    rules = board().rules
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
    visible = viewer.visible if viewer.kind is ViewerKind.PERSON and _fresh(viewer) else frozenset()
    rows = queries.search(board().index(), text=text, severity=severity, since=since, visible=visible)
    now = board().now()
    found = [line(r, rules, now, may_see=_may_see(viewer)) for r in rows]
    return page(
        "board/search.html",
        found=found,
        q=text,
        severity=raw_severity,
        since=raw_from,
        levels=sorted(rules.severities),
        limit=queries.MAX_RESULTS,
    )


def _board_context(viewer: Viewer) -> dict[str, Any]:
    shared = board()
    now = shared.now()
    see = _may_see(viewer)
    active, recent = queries.board(shared.index(), now)
    entered = queries.phase_entered(shared.index(), [r.id for r in active])
    paged = queries.paged_unacknowledged(shared.index(), [r.id for r in active])
    active.sort(key=lambda r: r.id not in paged)  # paged, not acknowledged first; stable: then the usual order
    summary = shared.month.get()
    late, late_total = corrective.overdue_panel(shared.index(), now.date(), _may_see_issue(viewer))
    return {
        "changes": changes.panel(shared.changes.get(), shared.index(), _may_see_issue(viewer), _seen_projects(viewer)),
        "late_follow_ups": late,
        "late_total": late_total,
        "now": now,
        "active": [line(r, shared.rules, now, may_see=see, entered_phase=entered, paged=paged) for r in active],
        "recent": [line(r, shared.rules, now, may_see=see) for r in recent],
        "summary": summary.rows,
        "window_count": summary.incidents,
        "window_open": summary.unresolved,
        "stale": viewer.kind is ViewerKind.PERSON and not _fresh(viewer),
    }


def _fresh(viewer: Viewer) -> bool:
    return viewer.fresh(board().config.access_minutes * 60, time.time())


def _may_see(viewer: Viewer) -> Callable[[Shown], bool]:
    current = _fresh(viewer)
    return lambda row: viewer.may_see(row.project_id, row.iid, row.confidential, fresh=current)


def _seen_projects(viewer: Viewer) -> frozenset[int]:
    """The projects of the confidential incidents this viewer may see (its change figures are shown by project)."""
    fresh = viewer.kind is ViewerKind.PERSON and _fresh(viewer)
    return frozenset(project for project, _ in viewer.visible) if fresh else frozenset()


def _may_see_issue(viewer: Viewer) -> corrective.MaySee:
    current = _fresh(viewer)
    return lambda project_id, iid, confidential: viewer.may_see(project_id, iid, confidential, fresh=current)


def _sign_in_path() -> str:
    return url_for("board.sign_in", next=request.full_path.rstrip("?"))


def _without_token() -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
    return request.path + ("?" + urlencode(kept) if kept else "")
