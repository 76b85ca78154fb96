"""`GET /handbook` and its sections: the handbook generated from the rules, behind the board's sign-in.

Plain HTML (no script) rendered with autoescape; the rules are the only text. Who is on call is
computed at each view, which only the served pages show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, make_response, redirect, request, url_for
from werkzeug.wrappers import Response as Answer

from service.config import Settings
from service.knowledge.handbook import build, render, served_link
from service.rules import RuleSet

from .board.access import admit, board_cookies, local_trial, refusal, secure
from .board.config import BoardConfig
from .board.session import Cookies

CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


KEY = "incident_bot.handbook"
blueprint = Blueprint("handbook", __name__)
LINK = served_link("/handbook")


@dataclass(frozen=True)
class HandbookState:
    """One app's handbook: the rules it is built from and the board's admission (config, cookie key, trial)."""

    settings: Settings
    rules: RuleSet
    config: BoardConfig
    cookies: Cookies
    trial: bool
    now: Callable[[], datetime]


def register_handbook(
    app: Flask,
    settings: Settings,
    rules: RuleSet,
    config: BoardConfig | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """`/handbook` and `/handbook/<section>`: the same admission as the board (session, kiosk token, local trial)."""
    config = config or BoardConfig.from_env()
    # The board's cookie, read with the board's key: whoever may see the board may read the handbook.
    state = HandbookState(
        settings,
        rules,
        config,
        board_cookies(config, settings),
        local_trial(settings),
        clock or (lambda: datetime.now(UTC)),
    )
    app.extensions[KEY] = state
    app.register_blueprint(blueprint)


def _answer(status: int, text: str) -> Answer:
    return make_response(f"<!doctype html><title>Handbook</title><p>{text}</p>", status)


@blueprint.after_request
def headers(response: Answer) -> Answer:
    return secure(response, CSP)


@blueprint.get("/handbook", defaults={"section": "index"})
@blueprint.get("/handbook/<section>")
def page(section: str) -> Answer:
    hb: HandbookState = current_app.extensions[KEY]
    admission = admit(request, hb.config, hb.cookies, trial=hb.trial)
    if admission.bad_token:
        return _answer(401, "That kiosk token is not valid.")
    if admission.viewer is None:
        if hb.config.oauth:
            return redirect(url_for("board.sign_in", next=request.full_path.rstrip("?")))
        return _answer(*refusal(hb.config, hb.trial))
    pages = build(hb.rules, bot=hb.settings.bot_username, now=hb.now())
    found = next((p for p in pages if p.slug == section), None)
    if found is None:
        return _answer(404, "No such handbook page.")
    return Response(render(found, "html", LINK, nav=pages), mimetype="text/html")
