"""`/ack/<token>`: a page's acknowledgement link. `GET` shows what it acknowledges and changes nothing (chat
previews and mail scanners open links); `POST` (the page's button) acknowledges, once.

Closed by default: without `INCIDENT_BOT_PUBLIC_URL` and `INCIDENT_BOT_ACK_SECRET` every answer is 404. A token
is refused when malformed or forged (400, 403: another person's or incident's claims break the signature),
expired (410) or already used (409). The acknowledgement itself is a delivery queued for the incident
(`service.paging.deliveries`): the planner applies it in the issue's order, and says so in the issue.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, request
from redis import Redis
from redis.exceptions import RedisError

from ..keys import Keys
from ..queue import EventQueue
from . import deliveries
from .settings import PagingSettings
from .tokens import AckClaims, AckRefusal, verify

log = logging.getLogger("incident_bot.paging")
KEY = "incident_bot.ack"
blueprint = Blueprint("ack", __name__)
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
REFUSED = {
    AckRefusal.MALFORMED: (400, "This is not an acknowledgement link."),
    AckRefusal.FORGED: (403, "This link was not made by this bot for this person and incident."),
    AckRefusal.EXPIRED: (410, "This link has expired. Acknowledge in the issue with `ack` instead."),
}
USED = (409, "This link was already used. The issue says who acknowledged the page.")
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width"></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto"><h1>{title}</h1><p>{text}</p>{form}</body></html>"""
FORM = '<form method="post"><button type="submit" style="font-size:1.2em;padding:.5em 1em">Acknowledge</button></form>'


@dataclass(frozen=True)
class AckState:
    """One app's acknowledgement pages: the settings, Redis (used tokens) and the deliveries queue."""

    settings: PagingSettings
    connection: Redis
    keys: Keys
    queue: EventQueue


def register_ack(app: Flask, settings: PagingSettings, connection: Redis, queue: EventQueue) -> None:
    """Serve `/ack/<token>` (404 unless acknowledgement links are on)."""
    app.extensions[KEY] = AckState(settings, connection, queue.keys, queue)
    app.register_blueprint(blueprint)


def _page(status: int, title: str, text: str, form: bool = False) -> Response:
    body = PAGE.format(title=html.escape(title), text=html.escape(text), form=FORM if form else "")
    answer = Response(body, status=status, content_type="text/html; charset=utf-8")
    # The token is in the path: no cache keeps it, no referrer carries it, no robot follows it.
    answer.headers.update({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})
    answer.headers.update({"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})
    return answer


def _claims(state: AckState, token: str) -> AckClaims | Response:
    found = verify(state.settings.secret, token, time.time())
    if isinstance(found, AckRefusal):
        status, text = REFUSED[found]
        return _page(status, "Not acknowledged", text)
    return found


@blueprint.route("/ack/<path:token>", methods=["GET", "POST"])
def ack(token: str) -> Response:
    """GET: what the link acknowledges; POST: acknowledge (once)."""
    state: AckState = current_app.extensions[KEY]
    if not state.settings.links:
        return _page(404, "Not found", "Acknowledgement links are not enabled.")
    claims = _claims(state, token)
    if isinstance(claims, Response):
        return claims
    what = f"the page of @{claims.person} for incident {claims.path or claims.project}#{claims.iid}"
    used = state.keys.ack_used(claims.nonce)
    try:
        if request.method == "GET":
            if state.connection.exists(used):
                return _page(USED[0], "Already used", USED[1])
            return _page(200, "Acknowledge the page?", f"This acknowledges {what}; its escalation stops.", form=True)
        ttl = max(1, claims.expires - int(time.time()))
        if not state.connection.set(used, "1", nx=True, ex=ttl):
            return _page(USED[0], "Already used", USED[1])
        body = deliveries.payload(claims.project, claims.path, claims.iid, actor=claims.person)
        ident = deliveries.ack_delivery_id(claims.project, claims.iid, claims.nonce)
        outcome = deliveries.enqueue(state.queue, body, ident, f"ack:{claims.page}:{claims.person}")
    except RedisError as exc:
        log.warning("acknowledgement link not taken: Redis unavailable: %s", exc)
        return _page(503, "Try again", "The bot cannot take the acknowledgement right now; try again in a minute.")
    log.info("page %s of %s#%s: link of %s taken: %s", claims.page, claims.project, claims.iid, claims.person, outcome)
    return _page(200, "Acknowledged", f"Acknowledged {what}. The issue will say so in a moment.")
