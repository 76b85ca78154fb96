"""Each sender's payload into an AlertGroup: Alertmanager's webhook (version 4), Grafana's, GitLab's generic alert."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .payload import (
    FIRING,
    MAX_ALERTS,
    MAX_VALUE,
    RESOLVED,
    Alert,
    AlertGroup,
    AlertPayloadError,
    AlertSource,
    fingerprint_of,
    loads,
    moment,
    string_map,
    text,
)

# Grafana's alert fields that are links (its documented webhook payload), shown in the alert table.
_GRAFANA_LINKS = (("dashboardURL", "dashboard"), ("panelURL", "panel"), ("silenceURL", "silence"))
# The generic alert's documented fields; any other scalar field becomes a label.
_GENERIC_FIELDS = frozenset(
    {"title", "description", "start_time", "end_time", "severity", "fingerprint", "service", "monitoring_tool", "hosts"}
)
MAX_FREE_FIELDS = 50


def parse(source: str, body: bytes) -> AlertGroup:
    """The notification `body` posted to `/alerts/<source>`; AlertPayloadError names what is wrong."""
    payload = loads(body)
    if source == "generic":
        return parse_generic(payload)
    return parse_alertmanager(payload)


def parse_alertmanager(payload: Mapping[str, Any]) -> AlertGroup:
    """Alertmanager's webhook payload, or Grafana's (it adds `orgId`, `title` and links per alert)."""
    grafana = "orgId" in payload or "title" in payload
    raw = payload.get("alerts")
    if raw is None:
        raise AlertPayloadError("missing field alerts")
    if not isinstance(raw, list) or not raw:
        raise AlertPayloadError("field alerts must be a non-empty list")
    if len(raw) > MAX_ALERTS:
        raise AlertPayloadError(f"field alerts holds more than {MAX_ALERTS} alerts")
    alerts = tuple(_alert(item, i, grafana) for i, item in enumerate(raw))
    text(payload, "status", "")
    return AlertGroup(
        source=AlertSource.GRAFANA if grafana else AlertSource.ALERTMANAGER,
        group_key=text(payload, "groupKey", "", required=True),
        alerts=alerts,
        group_labels=string_map(payload, "groupLabels", ""),
        common_labels=string_map(payload, "commonLabels", ""),
        common_annotations=string_map(payload, "commonAnnotations", ""),
        title=text(payload, "title", "") if grafana else "",
        external_url=text(payload, "externalURL", ""),
    )


def _alert(item: Any, index: int, grafana: bool) -> Alert:
    where = f"alerts[{index}]."
    if not isinstance(item, dict):
        raise AlertPayloadError(f"field alerts[{index}] must be an object")
    status = text(item, "status", where, required=True)
    if status not in (FIRING, RESOLVED):
        raise AlertPayloadError(f"field {where}status must be 'firing' or 'resolved'")
    labels = string_map(item, "labels", where, required=True)
    annotations = string_map(item, "annotations", where)
    links = [("source", text(item, "generatorURL", where)), ("runbook", annotations.get("runbook_url", ""))]
    if grafana:
        links += [(name, text(item, key, where)) for key, name in _GRAFANA_LINKS]
    return Alert(
        fingerprint=text(item, "fingerprint", where)[:64] or fingerprint_of(labels),
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=moment(item, "startsAt", where),
        ends_at=moment(item, "endsAt", where) if status == RESOLVED else None,
        links=tuple((name, url) for name, url in links if url),
    )


def parse_generic(payload: Mapping[str, Any]) -> AlertGroup:
    """GitLab's generic alert: one alert, grouped by its `fingerprint` (else by title, service and tool)."""
    title = text(payload, "title", "", required=True)
    if not title.strip():
        raise AlertPayloadError("field title must not be empty")
    labels = {"alertname": title}
    for key in ("severity", "service", "monitoring_tool"):
        if value := text(payload, key, ""):
            labels[key] = value
    if hosts := _strings(payload, "hosts"):
        labels["hosts"] = ", ".join(hosts)
    labels.update(_free_fields(payload))
    given = _strings(payload, "fingerprint")
    group = (
        "\n".join(given) if given else "\0".join((title, labels.get("service", ""), labels.get("monitoring_tool", "")))
    )
    key = hashlib.sha256(group.encode()).hexdigest()[:32]
    ends_at = moment(payload, "end_time", "")
    description = text(payload, "description", "")
    annotations = MappingProxyType({"summary": title, **({"description": description} if description else {})})
    alert = Alert(
        fingerprint=key[:16],
        status=RESOLVED if ends_at is not None else FIRING,
        labels=MappingProxyType(labels),
        annotations=annotations,
        starts_at=moment(payload, "start_time", ""),
        ends_at=ends_at,
    )
    return AlertGroup(
        source=AlertSource.GENERIC,
        group_key=key,
        alerts=(alert,),
        group_labels=MappingProxyType({}),
        common_labels=alert.labels,
        common_annotations=annotations,
        title=title,
    )


def _strings(payload: Mapping[str, Any], key: str) -> list[str]:
    """A string or a list of strings (`fingerprint`, `hosts`), bounded."""
    value = payload.get(key)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items) or len(items) > MAX_ALERTS:
        raise AlertPayloadError(f"field {key} must be a string or a list of strings")
    if sum(len(v) for v in items) > MAX_VALUE:
        raise AlertPayloadError(f"field {key} is longer than {MAX_VALUE} characters")
    return items


def _free_fields(payload: Mapping[str, Any]) -> dict[str, str]:
    """The free fields a tool adds (scalars only), as labels routes can match."""
    found: dict[str, str] = {}
    for key, value in payload.items():
        if key in _GENERIC_FIELDS or not isinstance(key, str) or len(key) > 100:
            continue
        if isinstance(value, bool | int | float | str) and len(found) < MAX_FREE_FIELDS:
            found[key] = str(value)[:MAX_VALUE]
    return found
