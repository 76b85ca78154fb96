"""Who is looking: the signed session cookie, the viewer it describes, and what that viewer may see.

The cookie is signed (itsdangerous, with its time), `HttpOnly`, `SameSite=Lax`, `Secure`
outside local trials, and bounded in lifetime both by `Max-Age` and by the signature's
age checked here. It holds no GitLab token: only who signed in, when, the confidential
incidents they could see at that moment, and the CSRF token of the sign-out form.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "incident_bot_board"
FLOW_COOKIE = "incident_bot_board_signin"  # the OAuth state and PKCE verifier, for one round trip
FLOW_SECONDS = 600
# The confidential incidents a person can see are kept in the cookie; a cookie stays well under 4 KB.
MAX_VISIBLE = 150


class ViewerKind(StrEnum):
    """How the viewer got in."""

    PERSON = "person"  # signed in with GitLab and a member of an allowed group
    KIOSK = "kiosk"  # presented INCIDENT_BOT_BOARD_TOKEN once
    LOCAL = "local"  # a local trial without sign-in, from this machine


@dataclass(frozen=True)
class Viewer:
    """The viewer of one request."""

    kind: ViewerKind
    username: str = ""
    visible: frozenset[tuple[int, int]] = field(default_factory=frozenset)  # confidential (project_id, iid)
    checked_at: float = 0.0  # when `visible` was read from GitLab
    csrf: str = ""

    def fresh(self, access_seconds: float, now: float) -> bool:
        """Whether the confidential access checked at sign-in is recent enough to trust."""
        return self.kind is ViewerKind.PERSON and now - self.checked_at <= access_seconds

    def may_see(self, project_id: int, iid: int, confidential: bool, *, fresh: bool) -> bool:
        """Confidential details only for a person who could see that issue at a recent check; never kiosks."""
        if not confidential:
            return True
        return self.kind is ViewerKind.PERSON and fresh and (project_id, iid) in self.visible


class Cookies:
    """Reads and writes the board's signed cookies."""

    def __init__(self, key: str, *, lifetime: float, secure: bool):
        self.lifetime = lifetime
        self.secure = secure
        self._session = URLSafeTimedSerializer(key, salt="incident-bot board session")
        self._flow = URLSafeTimedSerializer(key, salt="incident-bot board sign-in")

    def viewer(self, raw: str | None) -> Viewer | None:
        """The viewer the cookie names, or None when absent, forged or expired."""
        data = _load(self._session, raw, self.lifetime)
        if not isinstance(data, dict):
            return None
        try:
            return Viewer(
                kind=ViewerKind(data["k"]),
                username=str(data.get("u", "")),
                visible=frozenset((int(p), int(i)) for p, i in data.get("v", [])),
                checked_at=float(data.get("t", 0.0)),
                csrf=str(data["c"]),
            )
        except (KeyError, ValueError, TypeError):
            return None

    def issue(
        self, response: Response, kind: ViewerKind, username: str = "", visible: Iterable[tuple[int, int]] = ()
    ) -> Viewer:
        """Start a session (sign-in or kiosk exchange): a fresh CSRF token, the access checked now."""
        viewer = Viewer(kind, username, frozenset(visible), time.time(), secrets.token_urlsafe(24))
        data: dict[str, Any] = {"k": str(kind), "u": username, "v": sorted(viewer.visible), "t": viewer.checked_at}
        data["c"] = viewer.csrf
        self._set(response, COOKIE, self._session.dumps(data), self.lifetime)
        return viewer

    def end(self, response: Response) -> None:
        """Sign out: the cookie is removed."""
        response.delete_cookie(COOKIE, path="/", secure=self.secure, httponly=True, samesite="Lax")

    def start_flow(self, response: Response, state: str, verifier: str, next_url: str) -> None:
        """Remember one sign-in round trip's state, PKCE verifier and destination (signed, short-lived)."""
        self._set(response, FLOW_COOKIE, self._flow.dumps([state, verifier, next_url]), FLOW_SECONDS)

    def flow(self, raw: str | None) -> tuple[str, str, str] | None:
        """The round trip's (state, verifier, next), or None."""
        data = _load(self._flow, raw, FLOW_SECONDS)
        if isinstance(data, list) and len(data) == 3 and all(isinstance(x, str) for x in data):
            return data[0], data[1], data[2]
        return None

    def end_flow(self, response: Response) -> None:
        """The round trip is over (one use only)."""
        response.delete_cookie(FLOW_COOKIE, path="/", secure=self.secure, httponly=True, samesite="Lax")

    def _set(self, response: Response, name: str, value: str, max_age: float) -> None:
        response.set_cookie(
            name, value, max_age=int(max_age), path="/", secure=self.secure, httponly=True, samesite="Lax"
        )


def _load(serializer: URLSafeTimedSerializer, raw: str | None, max_age: float) -> Any:
    if not raw or len(raw) > 8192:
        return None
    try:
        return serializer.loads(raw, max_age=int(max_age))
    except (BadSignature, ValueError, TypeError):
        return None


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret (kiosk token, CSRF token) with the expected one."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())
