"""The edge: verify, parse, enqueue, answer. No GitLab call happens here."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from flask import Flask, Response, jsonify, request
from gunicorn.http.errors import ParseException
from redis import Redis
from redis.exceptions import RedisError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from .. import logs, metrics
from ..config import Settings, signing_key
from ..connection import connect as connection_for
from ..intake import Intake, SpoolError
from ..queue import EnqueueOutcome, EventQueue, notify_queue_name
from ..rules import RuleSet, load_rules
from ..spool import Spool
from .alerts import register_alerts
from .edge import Accepted, Ignored, IgnoreReason, Rejected, classify, verify
from .packing import packer_options

log = logging.getLogger("incident_bot.web")
SLOW = "request body not received in time"


def _answer(code: int, **body: Any) -> tuple[Response, int]:
    return jsonify(body), code


def _ignored(decision: Ignored) -> tuple[Response, int]:
    """Count an ignored delivery under its reason's code; answer 200 with the reason's sentence."""
    metrics.delivery("ignored", decision.code)
    return _answer(200, status="ignored", reason=decision.reason)


def _timed_out() -> bool:
    """Whether the client socket's read deadline ended the body (server.DeadlineSocket; absent in tests)."""
    return bool(getattr(request.environ.get("gunicorn.socket"), "timed_out", False))


def _read_body(limit: int) -> bytes | tuple[Response, int]:
    """The whole request body, or the 4xx answer when it cannot be read.

    A chunked body is decoded by gunicorn while it is read: a bad chunk size or a missing terminator
    surfaces here, as does a client that stops sending (server.DeadlineSocket ends its reads).
    """
    try:
        body = request.stream.read(limit + 1)
        if len(body) == limit and request.content_length is None:
            # A chunked body is capped at `limit` by werkzeug; one more byte tells whether there was more.
            body += request.stream.read(1)
    except RequestEntityTooLarge:
        return _answer(413, error=f"body over {limit} bytes")
    except (ClientDisconnected, OSError, ValueError, ParseException) as exc:
        if _timed_out():
            return _answer(408, error=SLOW)
        log.info("unreadable body: %s", exc.__class__.__name__)
        return _answer(400, error="request body incomplete or malformed")
    if len(body) > limit:
        return _answer(413, error=f"body over {limit} bytes")
    length = request.content_length
    if length is not None and len(body) < length:
        return _answer(408, error=SLOW) if _timed_out() else _answer(400, error="body shorter than Content-Length")
    return body


def connect(url: str) -> Redis:
    """A Redis client that fails fast and reconnects by itself when Redis comes back (URL or Sentinel)."""
    return connection_for(url)


def create_app(
    settings: Settings | None = None,
    *,
    connection: Redis | None = None,
    rules: RuleSet | None = None,
) -> Flask:
    """The Flask application; settings come from the environment unless given."""
    settings = settings or Settings.from_env()
    key = signing_key(settings.webhook_secret)  # a bad whsec_ secret stops the start, not every delivery
    rules = rules or load_rules(settings.rules_dir)
    # Packed by hiredis in one call: redis-py 8's per-argument Python pass cost the enqueue more than the edge's checks.
    connection = connection or connection_for(settings.redis_url or "redis://127.0.0.1:6379/0", **packer_options())
    deliveries = EventQueue(connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, keys=settings.keys)
    queue = Intake(deliveries, Spool(settings.spool_dir))
    app = Flask("incident_bot")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    index_figures = _add_pages(app, settings, rules, connection)
    _add_webhook(app, settings, rules, queue, key)
    register_alerts(app, settings, rules, connection, _read_body)  # issue 18: off while no alerts token is set
    _add_probes(app, settings, rules, connection, index_figures)
    from ..paging.settings import PagingSettings  # deferred like the board: `/ack/<token>` (issue 21), off by default
    from ..paging.web import register_ack

    register_ack(app, PagingSettings.from_env(os.environ), connection, deliveries)
    return app


def _add_pages(app: Flask, settings: Settings, rules: RuleSet, connection: Redis) -> list[Any]:
    """The board, the API and the handbook; returns the index's figures for /metrics."""
    # The board's pages (issue 11), imported here so the edge module stays light; its index opens at the first view.
    from service.store import open_store

    from .board import register_board  # deferred with open_store (above)

    register_board(app, settings, open_store, rules)
    from .api import register_api  # deferred like the board: GET /api/incidents reads the index (issue 10)

    register_api(app, os.environ, open_store)
    from .handbook import register_handbook  # deferred like the board: the handbook's pages (issue 12)

    register_handbook(app, settings, rules)
    from service.reports.gauges import index_collector  # deferred like the board: the index's figures on /metrics

    return [index_collector(rules, connection, settings.queue_name, open_store)]


def _add_webhook(app: Flask, settings: Settings, rules: RuleSet, queue: Intake, key: bytes) -> None:
    """`POST /webhook`: verify, classify, enqueue (or spool), answer."""

    @app.post("/webhook")
    def webhook() -> tuple[Response, int]:
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            metrics.delivery("rejected", "413")
            return _answer(413, error=f"body over {settings.max_body_bytes} bytes")
        body = _read_body(settings.max_body_bytes)
        if not isinstance(body, bytes):
            metrics.delivery("rejected", str(body[1]))
            return body
        headers = request.headers
        try:
            signed_id = verify(headers, body, settings.webhook_secret, settings.signature_window, key=key)
            decision = classify(
                headers,
                body,
                incident_label=rules.incident_label,
                signed_id=signed_id,
                follow_up_label=rules.settings.followups.label,
            )
        except Rejected as exc:
            log.info("rejected %s: %s", exc.status, exc.reason)
            metrics.delivery("rejected", str(exc.status))
            return _answer(exc.status, error=exc.reason)
        if not isinstance(decision, Accepted):
            return _ignored(decision)
        ref = decision.ref
        meta = {
            "delivery_id": decision.delivery_id,
            "event_uuid": decision.event_uuid,
            "event": decision.event_name or ref.kind.value,
            "received_at": time.time(),
        }
        try:
            result = queue.enqueue(
                body, meta, delivery_id=decision.delivery_id, issue_key=ref.issue_key, actor=ref.actor
            )
        except SpoolError as exc:  # Redis unreachable and the spool full or unwritable (README: the spool)
            log.error("queue unavailable and delivery not spooled: %s", exc)
            metrics.delivery("rejected", "503")
            return _answer(503, error=f"queue unavailable and local {exc.reason}, retry later")
        if result.outcome is EnqueueOutcome.DUPLICATE:
            metrics.delivery("duplicate")
            logs.bind(log, delivery=decision.delivery_id, project=ref.project_id, iid=ref.iid).info("duplicate")
            return _answer(200, status="duplicate", job_id=result.job_id)
        if result.outcome is EnqueueOutcome.SELF:
            return _ignored(Ignored(IgnoreReason.OWN_CHANGE))
        if result.outcome is EnqueueOutcome.SPOOLED:
            metrics.delivery("spooled")
            return _answer(202, status="spooled", job_id=result.job_id)
        # No log line here: the worker logs every delivery it applies, and this path is the hot one.
        metrics.delivery("queued")
        return _answer(202, status="queued", job_id=result.job_id, after=result.after)


def _add_probes(app: Flask, settings: Settings, rules: RuleSet, connection: Redis, index_figures: list[Any]) -> None:
    """`/metrics`, `/healthz`, `/readyz` and the 413 answer."""
    scraped = [settings.queue_name, notify_queue_name(settings.queue_name)]

    @app.get("/metrics")
    def metrics_page() -> Response:
        body, content_type = metrics.exposition(connection, scraped, index_figures)
        return Response(body, content_type=content_type)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return _answer(200, status="ok")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        try:
            connection.ping()
        except RedisError as exc:
            # No sign-in guards /readyz: where Redis is and what it said go to the log, not to the caller.
            log.warning("readyz: Redis unavailable: %s", exc)
            return _answer(503, status="unavailable", redis="unavailable", rules=len(rules.rules))
        return _answer(200, status="ready", redis="ok", rules=len(rules.rules))

    @app.errorhandler(413)
    def too_large(_: Exception) -> tuple[Response, int]:
        return _answer(413, error=f"body over {settings.max_body_bytes} bytes")
