"""`GET /handbook` and its sections: the handbook generated from the rules, behind the board's sign-in.

Plain HTML (no script) rendered with autoescape; the rules are the only text. Who is on call is
computed at each view, which only the served pages show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, Response, make_response, redirect, request, url_for
from werkzeug.wrappers import Response as Answer

from service.config import Settings
from service.knowledge.handbook import build, render, served_link
from service.rules import RuleSet

from .board.access import admit, board_cookies, local_trial, refusal, secure
from .board.config import BoardConfig

CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def handbook_blueprint(
    settings: Settings,
    rules: RuleSet,
    config: BoardConfig | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Blueprint:
    """`/handbook` and `/handbook/<section>`: the same admission as the board (session, kiosk token, local trial)."""
    config = config or BoardConfig.from_env()
    now_of = clock or (lambda: datetime.now(UTC))
    # The board's cookie, read with the board's key: whoever may see the board may read the handbook.
    cookies = board_cookies(config, settings)
    trial = local_trial(settings)
    link = served_link("/handbook")
    bp = Blueprint("handbook", __name__)

    def answer(status: int, text: str) -> Answer:
        response = make_response(f"<!doctype html><title>Handbook</title><p>{text}</p>", status)
        return response

    @bp.after_request
    def headers(response: Answer) -> Answer:
        return secure(response, CSP)

    @bp.get("/handbook", defaults={"section": "index"})
    @bp.get("/handbook/<section>")
    def page(section: str) -> Answer:
        admission = admit(request, config, cookies, trial=trial)
        if admission.bad_token:
            return answer(401, "That kiosk token is not valid.")
        if admission.viewer is None:
            if config.oauth:
                return redirect(url_for("board.sign_in", next=request.full_path.rstrip("?")))
            return answer(*refusal(config, trial))
        pages = build(rules, bot=settings.bot_username, now=now_of())
        found = next((p for p in pages if p.slug == section), None)
        if found is None:
            return answer(404, "No such handbook page.")
        return Response(render(found, "html", link, nav=pages), mimetype="text/html")

    return bp
