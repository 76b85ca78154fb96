"""Signed acknowledgement tokens: who may acknowledge which page of which incident, until when.

`<claims>.<signature>`, both base64url: the claims are compact JSON (project, iid, page, person, expiry,
nonce), the signature an HMAC-SHA256 of them under the deployment's secret. Changing any claim (another
person, another incident) breaks the signature; the nonce makes each token single-use (the web marks it used).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..text import is_username

MAX_TOKEN_CHARS = 600
DOMAIN = b"incident-bot ack v1\n"  # a signature of this kind can be mistaken for no other


class AckRefusal(StrEnum):
    """Why a token is refused."""

    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class AckClaims:
    """What a token says: `person` may acknowledge page `page` of incident `project`#`iid` until `expires`."""

    project: int
    path: str  # the project's path, as the page named it
    iid: int
    page: str
    person: str
    expires: int  # seconds since the epoch
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), DOMAIN + body.encode(), hashlib.sha256).digest())


def issue(secret: str, project: tuple[int, str], iid: int, page: str, person: str, expires: int) -> str:
    """A new token for incident `project` (id, path) #`iid`; a fresh nonce each time."""
    claims = {"p": project[0], "r": project[1], "i": iid, "g": page, "u": person, "x": expires}
    claims["n"] = secrets.token_urlsafe(12)
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_sign(secret, body)}"


def verify(secret: str, token: str, now: float) -> AckClaims | AckRefusal:
    """The token's claims, or why it is refused (malformed, forged, expired): never raises."""
    if not secret or len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 1:
        return AckRefusal.MALFORMED
    body, signature = token.split(".")
    if not hmac.compare_digest(_sign(secret, body).encode(), signature.encode("utf-8", "replace")):
        return AckRefusal.FORGED
    try:
        raw: Any = json.loads(_unb64(body))
        fields = (int(raw["p"]), str(raw["r"]), int(raw["i"]), str(raw["g"]), str(raw["u"]), int(raw["x"]))
        claims = AckClaims(*fields, str(raw["n"]))
    except (ValueError, KeyError, TypeError):
        return AckRefusal.MALFORMED  # signed by us, so never seen; kept total all the same
    if not is_username(claims.person) or not claims.page.isalnum():
        return AckRefusal.MALFORMED
    return AckRefusal.EXPIRED if now >= claims.expires else claims
