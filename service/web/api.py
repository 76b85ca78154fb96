"""`GET /api/incidents`: the incident index as paginated JSON for other tools, behind a bearer token.

The token is `INCIDENT_BOT_API_TOKEN` (unset: the API answers 404, it is off). A tool is not
a person whose GitLab access was checked, so a confidential incident is listed with its
times and labels but without its title and links. Every bad parameter is a 400 naming it;
an index that does not answer is a 503; the index opens at the first request.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from .. import bounds
from ..store.model import utc
from ..store.query import IncidentRow, Scope, conditions
from ..store.schema import incidents

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger("incident_bot.web")
DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 50, 200, 100_000
STATES = ("all", "open", "closed")
CONFIDENTIAL = "Confidential incident"
TIMES = ("started_at", "acknowledged_at", "mitigated_at", "resolved_at", "created_at", "updated_at")


KEY = "incident_bot.api"
blueprint = Blueprint("api", __name__, url_prefix="/api")


@dataclass(frozen=True)
class ApiState:
    """One app's API: its token ('' = off) and the index, opened at the first request."""

    token: str
    index: Callable[[], Store]
    reset: Callable[[], None]


def register_api(app: Flask, env: Mapping[str, str], open_store: Callable[[], Store]) -> None:
    """Add `/api/incidents` over the index that `open_store` opens at the first request."""
    held: list[Store] = []

    def index() -> Store:
        if not held:
            held.append(open_store())
        return held[0]

    app.extensions[KEY] = ApiState(env.get("INCIDENT_BOT_API_TOKEN", "").strip(), index, held.clear)
    app.register_blueprint(blueprint)


@blueprint.get("/incidents")
def list_incidents() -> tuple[Response, int]:
    api: ApiState = current_app.extensions[KEY]
    if not api.token:
        return _json(404, error="the API is off: set INCIDENT_BOT_API_TOKEN to turn it on")
    presented = request.headers.get("Authorization", "")
    scheme, _, value = presented.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), api.token.encode()):
        response, status = _json(401, error="a valid `Authorization: Bearer <INCIDENT_BOT_API_TOKEN>` is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="incident-bot"'
        return response, status
    try:
        page, per_page, state, scope = _params(request.args)
    except bounds.OutOfBounds as exc:
        return _json(400, error=str(exc))
    try:
        total, rows = _page(api.index(), scope, state, page, per_page)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        log.warning("incident index unavailable for the API: %s", str(exc).splitlines()[0][:200])
        api.reset()
        return _json(503, error="incident index unavailable, retry shortly")
    more = page * per_page < total
    return _json(
        200,
        page=page,
        per_page=per_page,
        total=total,
        next_page=page + 1 if more else None,
        incidents=[_incident(r) for r in rows],
    )


def _params(args: Mapping[str, str]) -> tuple[int, int, str, Scope]:
    """page, per_page, state and the scope (project, group, since) from the query string (bounds.OutOfBounds)."""
    page = bounds.integer(args["page"], "page", 1, MAX_PAGE) if "page" in args else 1
    per_page = bounds.integer(args["per_page"], "per_page", 1, MAX_PER_PAGE) if "per_page" in args else DEFAULT_PER_PAGE
    state = args.get("state", "all")
    if state not in STATES:
        raise bounds.OutOfBounds("state", f"one of {', '.join(STATES)}", state)
    project = bounds.project(args["project"]) if "project" in args else None
    group = bounds.group(args["group"]) if "group" in args else None
    since = bounds.moment(args["since"], "since") if "since" in args else None
    return page, per_page, state, Scope(project=project, group=group, started_from=since)


def _page(store: Store, scope: Scope, state: str, page: int, per_page: int) -> tuple[int, list[IncidentRow]]:
    """The total in scope and one page of it, the most recently started first."""
    where = list(conditions(scope))
    if state == "open":
        where.append(incidents.c.resolved_at.is_(None))
    elif state == "closed":
        where.append(incidents.c.resolved_at.is_not(None))
    query = (
        sa.select(incidents)
        .where(*where)
        .order_by(incidents.c.started_at.desc(), incidents.c.project_id, incidents.c.iid)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(incidents).where(*where)).scalar_one())
        rows = [IncidentRow.from_row(r) for r in conn.execute(query)]
    return total, rows


def _incident(row: IncidentRow) -> dict[str, Any]:
    """One incident as the API shows it (ISO times in UTC; a confidential one without title and links)."""
    shown: dict[str, Any] = {
        "project_id": row.project_id,
        "project_path": row.project_path,
        "iid": row.iid,
        "title": CONFIDENTIAL if row.confidential else row.title,
        "url": None if row.confidential else row.url,
        "confidential": row.confidential,
        "drill": row.drill,
        "category": row.category,
        "area": row.area,
        "severity": row.severity,
        "highest_severity": row.highest_severity,
        "phase": row.phase,
        "state": row.state,
        "roles": dict(row.roles),
        "review_url": None if row.confidential else row.review_url,
    }
    for name in TIMES:
        value = utc(getattr(row, name))
        shown[name] = value.isoformat().replace("+00:00", "Z") if value is not None else None
    return shown


def _json(status: int, **body: Any) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status
