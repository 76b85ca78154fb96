"""The sign-in round trip's routes: start (to GitLab), callback (membership and access), sign-out (CSRF)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as Answer

from service.rules import RuleSet
from service.store import Store

from . import queries
from .access import SIGN_IN_SETTINGS, safe_next
from .config import BoardConfig
from .session import COOKIE, FLOW_COOKIE, Cookies, Kind, same_token
from .signin import GitLabSignIn, SignInError

NOT_CONFIGURED = f"GitLab sign-in is not configured: set {SIGN_IN_SETTINGS} to offer it."


def add_sign_in(
    bp: Blueprint,
    *,
    config: BoardConfig,
    cookies: Cookies,
    gitlab: GitLabSignIn | None,
    rules: RuleSet,
    index: Callable[[], Store],
    message: Callable[[int, str, str], Answer],
) -> None:
    """Add `/board/sign-in`, `/board/auth/callback` and `POST /board/sign-out` to the board's blueprint."""

    @bp.get("/board/sign-in")
    def sign_in() -> Answer:
        if gitlab is None:
            return message(404, "Sign-in not configured", NOT_CONFIGURED)
        url, state, verifier = gitlab.authorize_url(redirect_uri())
        response = redirect(url)
        cookies.start_flow(response, state, verifier, safe_next(request.args.get("next")))
        return response

    def redirect_uri() -> str:
        if config.public_url:
            return config.public_url + url_for("board.callback")
        return url_for("board.callback", _external=True)

    @bp.get("/board/auth/callback")
    def callback() -> Answer:
        if gitlab is None:
            return message(404, "Sign-in not configured", NOT_CONFIGURED)
        flow = cookies.flow(request.cookies.get(FLOW_COOKIE))
        if flow is None:
            return message(400, "Sign-in expired", "This sign-in started too long ago or elsewhere: start again.")
        state, verifier, next_url = flow
        if not same_token(request.args.get("state"), state):
            return message(400, "Sign-in refused", "The sign-in's state does not match: start again.")
        if request.args.get("error"):
            return message(403, "Sign-in refused", "GitLab did not authorise the board.")
        code = request.args.get("code", "")
        if not code:
            return message(400, "Sign-in incomplete", "GitLab's answer has no authorisation code.")
        try:
            person = gitlab.person(gitlab.token(redirect_uri(), code, verifier), config.groups, rules.incident_label)
        except SignInError as exc:
            return message(exc.status, "Sign-in failed", exc.message)
        if not person.member:
            response = message(
                403,
                "Not a member",
                f"You are signed in to GitLab as {person.username}, but the board is only for members of: "
                + (", ".join(config.groups) or "(no group configured)")
                + ".",
            )
            cookies.end_flow(response)
            return response
        response = redirect(safe_next(next_url))
        cookies.end_flow(response)
        cookies.issue(response, Kind.PERSON, person.username, queries.confidential_among(index(), person.visible))
        return response

    @bp.post("/board/sign-out")
    def sign_out() -> Answer:
        viewer = cookies.viewer(request.cookies.get(COOKIE))
        if viewer is None or not same_token(request.form.get("csrf"), viewer.csrf):
            return message(403, "Sign-out refused", "The form is stale or came from elsewhere: reload and try again.")
        response = message(200, "Signed out", "You are signed out of the incident board.")
        cookies.end(response)
        return response
