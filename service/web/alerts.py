"""`POST /alerts/alertmanager` and `POST /alerts/generic`: verify, bound, parse, queue durably, answer (issue 18).

The same guarantees as GitLab's `/webhook`: a bounded body (413), a malformed one 400 naming the field, a bad
token 401, 202 only once the notification is queued in Redis or fsynced in the spool (service/intake.py), 503
only when neither can take it, never a 500. Notifications of one group are queued under one ordering key, so
the worker applies them in arrival order. The routes are off (404) while INCIDENT_BOT_ALERTS_TOKEN is unset.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from redis import Redis

from .. import metrics
from ..alerts.auth import SIGNATURE_HEADER, Unauthorized, authorize
from ..alerts.grouping import group_key
from ..alerts.payload import AlertGroup, AlertPayloadError
from ..alerts.sources import parse
from ..config import Settings
from ..intake import Intake, SpoolError
from ..jobs import ALERT_FUNC
from ..queue import EnqueueOutcome, EventQueue
from ..rules import RuleSet
from ..spool import Spool

log = logging.getLogger("incident_bot.web")
SOURCES = ("alertmanager", "generic")
EXTENSION = "incident_bot_alerts"
alerts_blueprint = Blueprint("alerts", __name__)


@dataclass(frozen=True)
class AlertEdge:
    """What the alert routes need, kept in `app.extensions`."""

    settings: Settings
    rules: RuleSet
    intake: Intake
    read_body: Callable[[int], bytes | tuple[Response, int]]


def register_alerts(
    app: Flask, settings: Settings, rules: RuleSet, connection: Redis, read_body: Callable[[int], Any]
) -> None:
    """Turn the alert endpoints on when a token is configured: their own job name and spool, the same queue."""
    if not settings.alerts_token:
        return
    queue = EventQueue(
        connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, func=ALERT_FUNC, keys=settings.keys
    )
    app.extensions[EXTENSION] = AlertEdge(
        settings, rules, Intake(queue, Spool(settings.spool_dir / "alerts")), read_body
    )
    app.register_blueprint(alerts_blueprint)


def _answer(source: str, code: int, outcome: str, **body: Any) -> tuple[Response, int]:
    """The answer, counted under the tool that sent the notification (`source`: alertmanager, grafana, generic)."""
    metrics.alert(source, outcome)
    return jsonify(body), code


def _sender(endpoint: str) -> str:
    """The sending tool before the body is parsed (a refusal): Grafana posts to the Alertmanager endpoint, told by
    its signature header; once parsed, the payload says (`AlertGroup.source`)."""
    if endpoint == "alertmanager" and SIGNATURE_HEADER in request.headers:
        return "grafana"
    return endpoint


@alerts_blueprint.post("/alerts/<source>")
def receive(source: str) -> tuple[Response, int]:
    """One notification from Alertmanager, Grafana (the Alertmanager endpoint) or any tool (generic)."""
    if source not in SOURCES:
        return jsonify(error=f"no alert endpoint {source!r}; use /alerts/alertmanager or /alerts/generic"), 404
    edge: AlertEdge = current_app.extensions[EXTENSION]
    limit = edge.settings.max_body_bytes
    sender = _sender(source)
    if request.content_length is not None and request.content_length > limit:
        return _answer(sender, 413, "413", error=f"body over {limit} bytes")
    body = edge.read_body(limit)
    if not isinstance(body, bytes):
        metrics.alert(sender, str(body[1]))
        return body
    settings = edge.settings
    try:
        authorize(
            request.headers, body, settings.alerts_token, settings.grafana_hmac_secret, window=settings.signature_window
        )
    except Unauthorized as exc:
        log.info("alert rejected 401: %s", exc)
        return _answer(sender, 401, "401", error=str(exc))
    if not edge.rules.alerts.configured:
        return _answer(sender, 404, "404", error="alerts are not configured: add rules/alerts.yml")
    try:
        group = parse(source, body)
    except AlertPayloadError as exc:
        return _answer(sender, 400, "400", error=str(exc))
    return _enqueue(edge, source, body, group)


def _enqueue(edge: AlertEdge, source: str, body: bytes, group: AlertGroup) -> tuple[Response, int]:
    """Queue (or spool) the notification under its group's ordering key; a byte-identical resend is a duplicate.
    `source` is the endpoint (what the job parses the body as); the metrics count the tool that sent it."""
    group_id, sender = group.group_id, str(group.source)
    delivery_id = f"alert-{source}-" + hashlib.sha256(body).hexdigest()
    meta = {"delivery_id": delivery_id, "event": "Alert", "source": source, "received_at": time.time()}
    try:
        result = edge.intake.enqueue(body, meta, delivery_id=delivery_id, issue_key=group_key(group_id), actor="")
    except SpoolError as exc:
        log.error("alert not queued and not spooled: %s", exc)
        return _answer(sender, 503, "503", error=f"queue unavailable and local {exc.reason}, retry later")
    if result.outcome is EnqueueOutcome.DUPLICATE:
        return _answer(sender, 200, "duplicate", status="duplicate", job_id=result.job_id)
    outcome = "spooled" if result.outcome is EnqueueOutcome.SPOOLED else "queued"
    return _answer(sender, 202, outcome, status=outcome, job_id=result.job_id, group=group_id)
