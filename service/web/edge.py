"""Verify a GitLab delivery and decide whether it can concern an incident.

Pure functions of headers, body and settings: the Flask route only maps the
outcome to an HTTP answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ..bounds import EARLIEST
from ..changes.hooks import CHANGE_EVENTS, CHANGE_HOOKS, ChangeReference, change_reference, parse_change
from ..config import signing_key
from ..events import (
    ACCEPTED_HOOKS,
    INCIDENT_LABEL,
    NOTE_HOOKS,
    Kind,
    PayloadError,
    Reference,
    noteable_type,
    parse_event,
)
from ..rules.settings import FollowUpSettings
from .admission import drill_request, follow_up_issue, may_be_incident, too_deep

# GitLab's payloads nest about five deep. The worker parses the same body again, deeper in its stack: a bound far
# below Python's recursion limit means nothing the edge accepts can fail there with a RecursionError.
MAX_DEPTH = 64
# Seconds since the epoch, as Standard Webhooks sends them; anything longer is not a timestamp.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


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

    ref: Reference | ChangeReference
    delivery_id: str
    event_name: str
    event_uuid: str | None


class IgnoreReason(StrEnum):
    """Why a well-formed delivery is ignored: the value is the `reason` label of incident_bot_deliveries_total."""

    OTHER_EVENT = "event"
    OTHER_OBJECT_KIND = "object_kind"
    COMMENT_ON_OTHER = "not_issue_comment"
    NOT_AN_INCIDENT = "not_incident"
    SYSTEM_NOTE = "system_note"
    OWN_CHANGE = "own_change"  # decided by the queue (queue.Outcome.SELF), after the edge accepted the delivery

    def sentence(self, subject: object = None) -> str:
        """The HTTP answer's `reason` (README: the webhook's answers), naming `subject` where the sentence has one."""
        return _SENTENCES[self].format(subject=subject)


_SENTENCES = {
    IgnoreReason.OTHER_EVENT: "event {subject!r} is not handled",
    IgnoreReason.OTHER_OBJECT_KIND: "object_kind {subject!r} is not handled",
    IgnoreReason.COMMENT_ON_OTHER: "comment on {subject}, not on an issue",
    IgnoreReason.NOT_AN_INCIDENT: "not an incident",
    IgnoreReason.SYSTEM_NOTE: "system note",
    IgnoreReason.OWN_CHANGE: "the bot's own change",
}


@dataclass(frozen=True)
class Ignored:
    """A well-formed delivery that cannot concern an incident; answered 2xx, not enqueued."""

    code: IgnoreReason
    subject: object = None  # the header or payload value the sentence names (an event, an object_kind, a target)

    @property
    def reason(self) -> str:
        return self.code.sentence(self.subject)


def _header(headers: Headers, name: str) -> str:
    return headers.get(name) or ""


def verify(
    headers: Headers,
    body: bytes,
    secret: str,
    window: int,
    now: float | None = None,
    *,
    key: bytes | None = None,
) -> str | None:
    """Accept `X-Gitlab-Token` or a Standard-Webhooks signature; raise Rejected(401) otherwise.

    Returns the `webhook-id` of a verified signature (the delivery's identity, covered by the signature),
    None when the token was used. With no secret configured every delivery is accepted (local trials only).
    """
    if not secret:
        return None
    token = _header(headers, "X-Gitlab-Token")
    if token:
        if hmac.compare_digest(token.encode(), secret.encode()):
            return None
        raise Rejected(401, "invalid X-Gitlab-Token")
    signature = _header(headers, "webhook-signature")
    if not signature:
        raise Rejected(401, "missing X-Gitlab-Token or webhook-signature")
    webhook_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    if not webhook_id or not timestamp:
        raise Rejected(401, "signed delivery without webhook-id or webhook-timestamp")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Rejected(401, "webhook-timestamp is not a number of seconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > window:
        raise Rejected(401, "webhook-timestamp outside the accepted window")
    expected = _mac(signing_key(secret) if key is None else key, webhook_id, timestamp, body)
    # The header may carry several space-separated signatures (key rotation).
    for candidate in signature.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return webhook_id
    raise Rejected(401, "webhook-signature does not match")


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The base64 HMAC-SHA256 of `id.timestamp.body` (Standard Webhooks v1)."""
    return _mac(signing_key(secret), webhook_id, timestamp, body)


def _mac(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    # Headers arrive decoded as latin-1; encoding them back as such gives the bytes that were signed.
    prefix = f"{webhook_id}.{timestamp}.".encode("latin-1", "replace")
    mac = hmac.new(key, prefix + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def delivery_id(headers: Headers, body: bytes, signed_id: str | None = None) -> str:
    """A signed delivery's `webhook-id`, else `Idempotency-Key` (stable across resends), else the body's hash.

    The signature does not cover `Idempotency-Key`: a signed delivery replayed with a new one is still a replay.
    """
    if signed_id:
        return "webhook-id-" + signed_id[:200]
    key = _header(headers, "Idempotency-Key").strip()
    if key:
        return key[:200]
    return "sha256-" + hashlib.sha256(body).hexdigest()


def classify(
    headers: Headers,
    body: bytes,
    *,
    incident_label: str = INCIDENT_LABEL,
    signed_id: str | None = None,
    follow_up_label: str = FollowUpSettings.label,
) -> Accepted | Ignored:
    """Decide whether a worker should see the delivery; raise Rejected(400) if it is malformed.

    What is accepted has passed the worker's own `parse_event`, so it cannot fail parsing there.
    """
    event_name = _header(headers, "X-Gitlab-Event")
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Rejected(400, "body is not valid JSON") from None
    except RecursionError:
        raise Rejected(400, f"body nests too deeply (limit {MAX_DEPTH})") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object")
    kind = payload.get("object_kind")
    if event_name in CHANGE_HOOKS or (not event_name and isinstance(kind, str) and kind in CHANGE_EVENTS):
        return _change(headers, body, payload, event_name, signed_id)
    if event_name and event_name not in ACCEPTED_HOOKS:
        return Ignored(IgnoreReason.OTHER_EVENT, event_name)
    if kind not in ("issue", "work_item", "note"):
        if not isinstance(kind, str):
            raise Rejected(400, "missing field object_kind")
        return Ignored(IgnoreReason.OTHER_OBJECT_KIND, kind)
    if kind == "note" or event_name in NOTE_HOOKS:
        target = noteable_type(payload)
        if target != "Issue":
            if target is None and kind == "note":
                raise Rejected(400, "missing field object_attributes.noteable_type")
            return Ignored(IgnoreReason.COMMENT_ON_OTHER, target)
    if (
        not may_be_incident(payload, kind, incident_label)
        and not drill_request(payload, kind)
        and not follow_up_issue(payload, kind, follow_up_label)
    ):
        return Ignored(IgnoreReason.NOT_AN_INCIDENT)
    try:
        event = parse_event(payload, incident_label=incident_label)
    except PayloadError as exc:
        raise Rejected(400, str(exc)) from None
    # Counting brackets (in C) bounds the depth; only a body with many of them is walked.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and too_deep(payload, MAX_DEPTH):
        raise Rejected(400, f"body nests too deeply (limit {MAX_DEPTH})")
    if event.kind is Kind.NOTE and payload["object_attributes"].get("system"):
        return Ignored(IgnoreReason.SYSTEM_NOTE)
    uuid = _header(headers, "X-Gitlab-Event-UUID") or None
    return Accepted(
        ref=Reference.of(event),
        delivery_id=delivery_id(headers, body, signed_id),
        event_name=event_name,
        event_uuid=uuid,
    )


def _change(headers: Headers, body: bytes, payload: dict[str, Any], event_name: str, signed_id: str | None) -> Accepted:
    """A Deployment or Feature Flag Hook (issue 19): checked by the worker's own parse, queued per project."""
    try:
        change = parse_change(payload, EARLIEST)  # the worker's time stands in for a missing one; only checked here
    except PayloadError as exc:
        raise Rejected(400, str(exc)) from None
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and too_deep(payload, MAX_DEPTH):
        raise Rejected(400, f"body nests too deeply (limit {MAX_DEPTH})")
    uuid = _header(headers, "X-Gitlab-Event-UUID")
    # A flag hook carries no time: without an Idempotency-Key (GitLab before 17.4) a flag switched the same way
    # again has the same body, and only the event's UUID tells the two switches apart.
    key = delivery_id(headers, body + uuid.encode("latin-1", "replace"), signed_id)
    return Accepted(change_reference(change), key, event_name, uuid or None)
