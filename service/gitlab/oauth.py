"""Sign in with GitLab: OAuth 2 authorization code with PKCE, then membership and access checks, over the Session.

The person's token is used only inside the callback: to read who they are, whether
they belong to one of the allowed groups, and which confidential incidents they can
see. It is never stored; access is re-checked by another (silent) round trip.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from .errors import GitLabError
from .session import Session

SCOPE = "read_api"  # group membership and the issues a person can see
MAX_PAGES = 10  # confidential incident issues a person can see: 1,000 are plenty for a board


class SignInError(Exception):
    """The round trip cannot complete; `status` is the HTTP answer to give."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class SignedInPerson:
    """Who signed in, and what GitLab says they may see."""

    user_id: int
    username: str
    member: bool
    visible: frozenset[tuple[int, int]]


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class GitLabSignIn:
    """The OAuth client of one GitLab instance (an application registered there)."""

    def __init__(self, gitlab_url: str, client_id: str, client_secret: str, *, timeout: float = 10.0):
        self.gitlab_url = gitlab_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout

    def authorize_url(self, redirect_uri: str) -> tuple[str, str, str]:
        """Where to send the browser, with the state and PKCE verifier to remember."""
        verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{self.gitlab_url}/oauth/authorize?{urlencode(query)}", state, verifier

    def token(self, redirect_uri: str, code: str, verifier: str) -> str:
        """Exchange the code (with the PKCE verifier) for the person's access token."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        session = Session(self.gitlab_url, timeout=self.timeout, retries=0)
        try:
            token = session.call("post", "/oauth/token", "the sign-in", form=form)
        except GitLabError as exc:
            if exc.unreachable or (exc.status or 0) >= 500:
                raise SignInError(502, f"GitLab did not answer the sign-in ({exc.detail[:200]})") from None
            raise SignInError(401, f"GitLab refused the sign-in: {exc.detail[:200]}") from None
        access = token.get("access_token") if isinstance(token, dict) else None
        if not isinstance(access, str) or not access:
            raise SignInError(401, "GitLab answered the sign-in without an access token")
        return access

    def person(self, access_token: str, groups: Iterable[str], incident_label: str) -> SignedInPerson:
        """Who the token belongs to, whether they are in one of `groups`, which confidential incidents they see."""
        session = Session(self.gitlab_url, bearer=access_token, timeout=self.timeout, retries=0)
        me = _ask(session, "/user")
        if not isinstance(me, dict) or not isinstance(me.get("id"), int):
            raise SignInError(502, "GitLab's /user answer has no user id")
        user_id, username = int(me["id"]), str(me.get("username", ""))
        member = any(_member(session, group, user_id) for group in groups)
        visible = _confidential(session, incident_label) if member else frozenset()
        return SignedInPerson(user_id, username, member, visible)


def _member(session: Session, group: str, user_id: int) -> bool:
    # members/all includes inherited membership (a member of a parent group belongs here too).
    try:
        session.send("get", f"/groups/{quote(group, safe='')}/members/all/{user_id}", "a membership")
    except GitLabError as exc:
        if exc.unreachable:
            raise SignInError(502, "GitLab did not answer (a membership)") from None
        return False
    return True


def _confidential(session: Session, incident_label: str) -> frozenset[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    query = {"scope": "all", "confidential": "true", "labels": incident_label}
    try:
        for item in session.pages("/issues", "confidential incidents", query, max_pages=MAX_PAGES):
            if isinstance(item, dict) and isinstance(item.get("project_id"), int) and isinstance(item.get("iid"), int):
                seen.add((item["project_id"], item["iid"]))
    except GitLabError as exc:
        if exc.unreachable:
            raise SignInError(502, "GitLab did not answer (confidential incidents)") from None
        raise SignInError(502, f"GitLab answered {exc.status} listing confidential incidents") from None
    return frozenset(seen)


def _ask(session: Session, path: str) -> object:
    try:
        return session.call("get", path, path)
    except GitLabError as exc:
        if exc.unreachable:
            raise SignInError(502, f"GitLab did not answer ({path})") from None
        raise SignInError(502, f"GitLab answered {exc.status} to {path}") from None
