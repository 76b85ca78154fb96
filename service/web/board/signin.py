"""Sign in with GitLab: OAuth 2 authorization code with PKCE (Authlib), then membership and access checks.

The person's token is used only inside the callback: to read who they are, whether
they belong to one of the allowed groups, and which confidential incidents they can
see. It is never stored; access is re-checked by another (silent) round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

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


class GitLabSignIn:
    """The OAuth client of one GitLab instance (an application registered there)."""

    def __init__(self, gitlab_url: str, client_id: str, client_secret: str, *, timeout: float = 10.0):
        self.gitlab_url = gitlab_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout

    def _client(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret or None,
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",  # noqa: S106
        )

    def authorize_url(self, redirect_uri: str) -> tuple[str, str, str]:
        """Where to send the browser, with the state and PKCE verifier to remember."""
        verifier = generate_token(64)
        url, state = self._client(redirect_uri).create_authorization_url(
            f"{self.gitlab_url}/oauth/authorize", code_verifier=verifier
        )
        return url, state, verifier

    def token(self, redirect_uri: str, code: str, verifier: str) -> str:
        """Exchange the code (with the PKCE verifier) for the person's access token."""
        try:
            token = self._client(redirect_uri).fetch_token(
                f"{self.gitlab_url}/oauth/token",
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SignInError(502, f"GitLab did not answer the sign-in ({exc.__class__.__name__})") from None
        except Exception as exc:  # noqa: BLE001 - Authlib raises its own OAuthError family for refusals
            raise SignInError(401, f"GitLab refused the sign-in: {str(exc)[:200]}") from None
        access = token.get("access_token") if isinstance(token, dict) else None
        if not isinstance(access, str) or not access:
            raise SignInError(401, "GitLab answered the sign-in without an access token")
        return access

    def person(self, access_token: str, groups: Iterable[str], incident_label: str) -> SignedInPerson:
        """Who the token belongs to, whether they are in one of `groups`, which confidential incidents they see."""
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {access_token}"
            me = self._get(http, "/user")
            if not isinstance(me, dict) or not isinstance(me.get("id"), int):
                raise SignInError(502, "GitLab's /user answer has no user id")
            user_id, username = int(me["id"]), str(me.get("username", ""))
            member = any(self._member(http, group, user_id) for group in groups)
            visible = self._confidential(http, incident_label) if member else frozenset()
        return SignedInPerson(user_id, username, member, visible)

    def _member(self, http: requests.Session, group: str, user_id: int) -> bool:
        # members/all includes inherited membership (a member of a parent group belongs here too).
        answer = self._call(http, f"/groups/{quote(group, safe='')}/members/all/{user_id}")
        return answer.status_code == 200

    def _confidential(self, http: requests.Session, incident_label: str) -> frozenset[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        for page in range(1, MAX_PAGES + 1):
            params = {"scope": "all", "confidential": "true", "labels": incident_label, "per_page": "100"}
            answer = self._call(http, "/issues", {**params, "page": str(page)})
            if answer.status_code != 200:
                raise SignInError(502, f"GitLab answered {answer.status_code} listing confidential incidents")
            items = _json(answer)
            if not isinstance(items, list):
                raise SignInError(502, "GitLab's issue list is not a list")
            for item in items:
                if (
                    isinstance(item, dict)
                    and isinstance(item.get("project_id"), int)
                    and isinstance(item.get("iid"), int)
                ):
                    seen.add((item["project_id"], item["iid"]))
            if not answer.headers.get("X-Next-Page"):
                break
        return frozenset(seen)

    def _get(self, http: requests.Session, path: str) -> object:
        answer = self._call(http, path)
        if answer.status_code != 200:
            raise SignInError(502, f"GitLab answered {answer.status_code} to {path}")
        return _json(answer)

    def _call(self, http: requests.Session, path: str, params: dict[str, str] | None = None) -> requests.Response:
        try:
            return http.get(f"{self.gitlab_url}/api/v4{path}", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SignInError(502, f"GitLab did not answer ({exc.__class__.__name__})") from None


def _json(answer: requests.Response) -> object:
    try:
        return answer.json()
    except ValueError:
        raise SignInError(502, "GitLab's answer is not JSON") from None
