"""Who may post alerts: `Authorization: Bearer <INCIDENT_BOT_ALERTS_TOKEN>` compared in constant time, or Grafana's
HMAC signature (`X-Grafana-Alerting-Signature`: hex HMAC-SHA256 of the body, or of `timestamp:body` when its
timestamp header is sent) when `INCIDENT_BOT_GRAFANA_HMAC_SECRET` is set. Pure: the route maps the answer."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Protocol

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-fA-F]{64}")


class _Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


class Unauthorized(Exception):
    """The notification is refused with 401; the message says why (never the secret)."""


def authorize(
    headers: _Headers,
    body: bytes,
    token: str,
    hmac_secret: str = "",
    *,
    window: int = 300,
    now: float | None = None,
) -> str:
    """How the notification proved itself (`bearer` or `grafana-hmac`); Unauthorized otherwise."""
    given = headers.get("Authorization") or ""
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        if hmac.compare_digest(credentials.strip().encode("utf-8", "replace"), token.encode()):
            return "bearer"
        raise Unauthorized("invalid bearer token")
    signature = headers.get(SIGNATURE_HEADER) or ""
    if hmac_secret and signature:
        _check_signature(headers, body, signature, hmac_secret, window, time.time() if now is None else now)
        return "grafana-hmac"
    raise Unauthorized("missing Authorization: Bearer <token>" + (" or Grafana signature" if hmac_secret else ""))


def grafana_signature(secret: str, body: bytes, timestamp: str = "") -> str:
    """The hex HMAC-SHA256 Grafana sends: of the body, or of `timestamp:body`."""
    message = f"{timestamp}:".encode() + body if timestamp else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _check_signature(headers: _Headers, body: bytes, signature: str, secret: str, window: int, now: float) -> None:
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    if timestamp:
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Unauthorized(f"{TIMESTAMP_HEADER} is not a number of seconds")
        if abs(now - int(timestamp)) > window:
            raise Unauthorized(f"{TIMESTAMP_HEADER} outside the accepted window")
    if not _HEX.fullmatch(signature.strip()):
        raise Unauthorized(f"{SIGNATURE_HEADER} is not a hex HMAC-SHA256")
    expected = grafana_signature(secret, body, timestamp)
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        raise Unauthorized(f"{SIGNATURE_HEADER} does not match")
