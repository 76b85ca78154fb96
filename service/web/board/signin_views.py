"""The sign-in round trip's routes: start (to GitLab), callback (membership and access), sign-out (CSRF)."""

from __future__ import annotations

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as Answer

from ...gitlab.oauth import SignInError
from . import queries
from .access import SIGN_IN_SETTINGS, safe_next
from .answers import message
from .session import COOKIE, FLOW_COOKIE, ViewerKind, same_token
from .state import board

NOT_CONFIGURED = f"GitLab sign-in is not configured: set {SIGN_IN_SETTINGS} to offer it."


def sign_in() -> Answer:
    """Start the sign-in: to GitLab, with a state and a PKCE verifier in a short-lived cookie."""
    shared = board()
    gitlab, cookies = shared.gitlab, shared.cookies
    if gitlab is None:
        return message(404, "Sign-in not configured", NOT_CONFIGURED)
    url, state, verifier = gitlab.authorize_url(redirect_uri())
    response = redirect(url)
    cookies.start_flow(response, state, verifier, safe_next(request.args.get("next")))
    return response


def redirect_uri() -> str:
    """Where GitLab sends the person back (the public URL when configured)."""
    config = board().config
    if config.public_url:
        return config.public_url + url_for("board.callback")
    return url_for("board.callback", _external=True)


def callback() -> Answer:
    """GitLab's answer: check the flow, the membership and what the person may see, then the session cookie."""
    shared = board()
    gitlab, cookies, config = shared.gitlab, shared.cookies, shared.config
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
        person = gitlab.person(gitlab.token(redirect_uri(), code, verifier), config.groups, shared.rules.incident_label)
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
    cookies.issue(
        response, ViewerKind.PERSON, person.username, queries.confidential_among(shared.index(), person.visible)
    )
    return response


def sign_out() -> Answer:
    """End the session (a form post carrying the session's CSRF token)."""
    cookies = board().cookies
    viewer = cookies.viewer(request.cookies.get(COOKIE))
    if viewer is None or not same_token(request.form.get("csrf"), viewer.csrf):
        return message(403, "Sign-out refused", "The form is stale or came from elsewhere: reload and try again.")
    response = message(200, "Signed out", "You are signed out of the incident board.")
    cookies.end(response)
    return response
