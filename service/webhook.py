"""Verify a GitLab delivery and decide whether it can concern an incident.

Pure functions of headers, body and settings: the Flask route only maps the
outcome to an HTTP answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from .events import (
    ACCEPTED_HOOKS,
    INCIDENT_LABEL,
    NOTE_HOOKS,
    Kind,
    PayloadError,
    Reference,
    noteable_type,
    reference,
)


class Headers(Protocol):
    """What the edge reads from request headers (a dict, or Flask's case-insensitive Headers)."""

    def get(self, key: str, /) -> str | None: ...


class Rejected(Exception):
    """The delivery is refused; `status` is the HTTP answer and `reason` says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    """A delivery worth a worker's time; the worker parses it into an Event."""

    ref: Reference
    delivery_id: str
    event_name: str
    event_uuid: str | None


@dataclass(frozen=True)
class Ignored:
    """A well-formed delivery that cannot concern an incident; answered 2xx, not enqueued."""

    reason: str


def _header(headers: Headers, name: str) -> str:
    return headers.get(name) or ""


def verify(headers: Headers, body: bytes, secret: str, window: int, now: float | None = None) -> None:
    """Accept `X-Gitlab-Token` or a Standard-Webhooks signature; raise Rejected(401) otherwise.

    With no secret configured every delivery is accepted (documented: only for local trials).
    """
    if not secret:
        return
    token = _header(headers, "X-Gitlab-Token")
    if token:
        if hmac.compare_digest(token.encode(), secret.encode()):
            return
        raise Rejected(401, "invalid X-Gitlab-Token")
    signature = _header(headers, "webhook-signature")
    if not signature:
        raise Rejected(401, "missing X-Gitlab-Token or webhook-signature")
    webhook_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    if not webhook_id or not timestamp:
        raise Rejected(401, "signed delivery without webhook-id or webhook-timestamp")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Rejected(401, "webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > window:
        raise Rejected(401, "webhook-timestamp outside the accepted window")
    expected = sign(secret, webhook_id, timestamp, body)
    # The header may carry several space-separated signatures (key rotation).
    for candidate in signature.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return
    raise Rejected(401, "webhook-signature does not match")


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of `id.timestamp.body` (Standard Webhooks v1)."""
    key = secret.encode()
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def delivery_id(headers: Headers, body: bytes) -> str:
    """`Idempotency-Key` (stable across retries and resends), else a hash of the body."""
    key = _header(headers, "Idempotency-Key").strip()
    if key:
        return key[:200]
    return "sha256-" + hashlib.sha256(body).hexdigest()


def _may_be_incident(payload: dict[str, Any], kind: str, incident_label: str) -> bool:
    """What `events.is_incident` decides, read straight from the payload (the edge builds no Event)."""
    issue = payload.get("issue") if kind == "note" else payload.get("object_attributes")
    if not isinstance(issue, dict):
        return True  # malformed: let the parser name what is missing
    if issue.get("type") == "Incident":
        return True
    labels = (issue.get("labels") if kind == "note" else payload.get("labels", issue.get("labels"))) or []
    if not isinstance(labels, list):
        return True
    return any((label.get("title") if isinstance(label, dict) else label) == incident_label for label in labels)


def classify(
    headers: Headers,
    body: bytes,
    *,
    incident_label: str = INCIDENT_LABEL,
) -> Accepted | Ignored:
    """Parse the body once and decide whether a worker should see it; raise Rejected(400) if malformed."""
    event_name = _header(headers, "X-Gitlab-Event")
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Rejected(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object")
    if event_name and event_name not in ACCEPTED_HOOKS:
        return Ignored(f"event {event_name!r} is not handled")
    kind = payload.get("object_kind")
    if kind not in ("issue", "work_item", "note"):
        if not isinstance(kind, str):
            raise Rejected(400, "missing field object_kind")
        return Ignored(f"object_kind {kind!r} is not handled")
    if kind == "note" or event_name in NOTE_HOOKS:
        target = noteable_type(payload)
        if target != "Issue":
            if target is None and kind == "note":
                raise Rejected(400, "missing field object_attributes.noteable_type")
            return Ignored(f"comment on {target}, not on an issue")
    if not _may_be_incident(payload, kind, incident_label):
        return Ignored("not an incident")
    try:
        ref = reference(payload)
    except PayloadError as exc:
        raise Rejected(400, str(exc)) from None
    if ref.kind is Kind.NOTE and payload["object_attributes"].get("system"):
        return Ignored("system note")
    uuid = _header(headers, "X-Gitlab-Event-UUID") or None
    return Accepted(ref=ref, delivery_id=delivery_id(headers, body), event_name=event_name, event_uuid=uuid)
