"""One normalized alert group from Alertmanager's, Grafana's or GitLab's generic alert payload.

Whatever a payload holds, parsing either returns an AlertGroup or raises AlertPayloadError naming the field
(the edge's 400). The worker parses the same body again with the same function, so it cannot fail there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ..bounds import parse_time

MAX_ALERTS = 1000  # per notification: Alertmanager's default max_alerts is 0 (all); a storm of one group stays bounded
MAX_VALUE = 4096  # characters of one label, annotation or URL: what a table cell can show
MAX_DEPTH = 32
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python reads microseconds
FIRING, RESOLVED = "firing", "resolved"


class AlertSource(StrEnum):
    """Which tool sent a notification (Grafana posts to the Alertmanager endpoint with a payload of its own kind)."""

    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    GENERIC = "generic"


class AlertPayloadError(ValueError):
    """The payload is not one the endpoint takes; the message names the field (the edge's 400 answer)."""


@dataclass(frozen=True)
class Alert:
    """One alert of a group as this notification sees it."""

    fingerprint: str
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    ends_at: datetime | None  # set when resolved (Alertmanager sends a zero time, or a future one, while firing)
    links: tuple[tuple[str, str], ...] = ()  # (what, url): source, runbook, dashboard, panel, silence

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.annotations.get("summary") or self.fingerprint[:12]


@dataclass(frozen=True)
class AlertGroup:
    """One notification about one alert group: the unit that becomes (or updates) one incident."""

    source: AlertSource
    group_key: str
    alerts: tuple[Alert, ...]
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    title: str = ""  # Grafana's title, a generic alert's title
    external_url: str = ""

    @property
    def group_id(self) -> str:
        """A short stable id of the group (Alertmanager and Grafana share the endpoint, not their groups)."""
        return hashlib.sha256(f"{self.source}\0{self.group_key}".encode()).hexdigest()[:32]

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status == FIRING)


def loads(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or AlertPayloadError saying why not."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise AlertPayloadError(f"body nests too deeply (limit {MAX_DEPTH})") from None
    except (UnicodeDecodeError, ValueError):
        raise AlertPayloadError("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise AlertPayloadError("body must be a JSON object")
    if _depth(payload) > MAX_DEPTH:
        raise AlertPayloadError(f"body nests too deeply (limit {MAX_DEPTH})")
    return payload


def _depth(payload: Any) -> int:
    deepest, todo = 0, [(payload, 1)]
    while todo:
        item, depth = todo.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        todo.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)) and depth <= MAX_DEPTH)
    return deepest


def text(payload: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    """A string field (bounded), "" when absent and not required."""
    value = payload.get(key)
    if value is None:
        if required:
            raise AlertPayloadError(f"missing field {where}{key}")
        return ""
    if not isinstance(value, str):
        raise AlertPayloadError(f"field {where}{key} must be a string")
    if len(value) > MAX_VALUE:
        raise AlertPayloadError(f"field {where}{key} is longer than {MAX_VALUE} characters")
    return value


def string_map(payload: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> Mapping[str, str]:
    """An object of strings (labels, annotations), bounded."""
    value = payload.get(key)
    if value is None:
        if required:
            raise AlertPayloadError(f"missing field {where}{key}")
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise AlertPayloadError(f"field {where}{key} must be an object of strings")
    for name, item in value.items():
        if not isinstance(item, str):
            raise AlertPayloadError(f"field {where}{key}.{name} must be a string")
        if len(item) > MAX_VALUE or len(name) > MAX_VALUE:
            raise AlertPayloadError(f"field {where}{key}.{name} is longer than {MAX_VALUE} characters")
    return MappingProxyType(dict(value))


def moment(payload: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """An RFC 3339 time; None when absent, empty or Go's zero time; AlertPayloadError when it is no time."""
    raw = text(payload, key, where)
    if not raw:
        return None
    found = parse_time(_FRACTION.sub(r"\1", raw))
    if found is None:
        raise AlertPayloadError(f"field {where}{key} is not an RFC 3339 time")
    return None if found.year < 1970 else found


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A fingerprint from the labels when the sender gave none (Alertmanager's is a hash of them too)."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
