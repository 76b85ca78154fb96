"""`doctor`'s alert rows (issue 18): whether the alert endpoints are on, where silences go, when an alert last came."""

from __future__ import annotations

import time

from redis import Redis
from redis.exceptions import RedisError

from ..config import Settings
from ..durations import human_duration
from .table import Row, Status


def check_alerts(connection: Redis, settings: Settings, now: float | None = None) -> list[Row]:
    """The alert endpoints (on with INCIDENT_BOT_ALERTS_TOKEN), silences (INCIDENT_BOT_ALERTMANAGER_URL), and the
    last alert a worker took (`alerts:last-received`)."""
    if not settings.alerts_token:
        return [Row("alerts", "endpoints", Status.OK, "off (set INCIDENT_BOT_ALERTS_TOKEN to take alerts)")]
    rows: list[Row] = [Row("alerts", "endpoints", Status.OK, "on: POST /alerts/alertmanager and /alerts/generic")]
    silences = settings.alertmanager_url or "off (set INCIDENT_BOT_ALERTMANAGER_URL for `silence`)"
    rows.append(Row("alerts", "silences", Status.OK, silences.split("@")[-1]))  # never a URL's credentials
    try:
        raw = connection.get(settings.keys.alert_last_received)
    except RedisError as exc:
        return [*rows, Row("alerts", "last received", Status.FAIL, str(exc))]
    if not raw:
        return [
            *rows,
            Row("alerts", "last received", Status.WARN, "none yet: point Alertmanager or Grafana at the bot"),
        ]
    seconds = float(raw)
    ago = max(0.0, (time.time() if now is None else now) - seconds)
    at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
    return [*rows, Row("alerts", "last received", Status.OK, f"{at} ({human_duration(ago / 60)} ago)")]
