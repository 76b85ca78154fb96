"""A Deployment or Feature Flag Hook in the worker: parsed, recorded in the incident index, nothing planned.

The index write is the delivery's only effect, so a failing one (the index down) is retried like a
GitLab outage (the queue's retry schedule); a body that does not parse fails the job at once, since
a retry parses it again. A worker without an index logs the change and drops it.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

from .. import logs
from ..bounds import EARLIEST, LATEST
from ..changes.hooks import Deployment, parse_change
from .pure import pure_step
from .runtime import Runtime

log = logging.getLogger("incident_bot.worker")


class ChangeNotRecorded(Exception):
    """The index could not take a change now; the job is retried."""


def received_at(meta: dict[str, Any], now: datetime) -> datetime:
    """When the edge received the delivery (its `received_at`), or `now` when that is missing or no time."""
    stamp = meta.get("received_at")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and math.isfinite(stamp):
        at = datetime.fromtimestamp(min(max(stamp, 0.0), 253_000_000_000.0), UTC)
        if EARLIEST <= at < LATEST:
            return at
    return now


def record_change(runtime: Runtime, body: bytes, meta: dict[str, Any]) -> str:
    """The job's work for a change hook: a body that cannot parse fails the job once."""
    with pure_step(f"delivery {meta.get('delivery_id')}"):
        change = parse_change(json.loads(body), received_at(meta, runtime.clock()))
    blog = logs.bind(log, delivery=meta.get("delivery_id", ""), project=change.project_id)
    what = (
        f"deployment {change.deployment_id} {change.status} to {change.environment!r}"
        if isinstance(change, Deployment)
        else f"feature flag {change.name!r} {'on' if change.active else 'off'}"
    )
    if runtime.index is None or (runtime.dry_run and not runtime.trial_index):
        blog.info("%s: not recorded (no incident index)", what)
        return "ignored: no index"
    from ..store.changes import record  # the store's SQL loads with the first change, as with the first incident

    # The index's vocabulary wants the bot's name: the one the deliveries cached, since a change asks GitLab nothing.
    cached = runtime.connection.get(runtime.settings.keys.bot_username)
    bot = cached.decode() if isinstance(cached, bytes) else runtime.settings.bot_username
    store = runtime.index.store(runtime.rules, bot)
    if store is None:
        raise ChangeNotRecorded(f"{what}: the incident index is not open; retried")
    try:
        record(store.engine, change)
    except Exception as exc:  # the index's write is the whole delivery: retried, as GitLab trouble is
        raise ChangeNotRecorded(f"{what}: the incident index refused it: {type(exc).__name__}: {exc}") from exc
    blog.info("recorded %s", what)
    return f"recorded: {what}"
