"""Alert payloads shaped as their senders document them: Alertmanager's webhook (version 4), Grafana's webhook
contact point, GitLab's generic alert. Each builder returns a dict a test may change before posting it."""

from __future__ import annotations

import json
from typing import Any

ALERTS_TOKEN = "alerts-t0ken"
BEARER = {"Authorization": f"Bearer {ALERTS_TOKEN}", "Content-Type": "application/json"}


def am_alert(
    name: str = "HighErrorRate",
    status: str = "firing",
    severity: str = "warning",
    instance: str = "web-1",
    starts_at: str = "2026-11-27T09:58:00.123456789Z",
    **labels: str,
) -> dict[str, Any]:
    """One alert of Alertmanager's `alerts` list (a re-fired alert has a newer `starts_at`, as Prometheus gives it)."""
    return {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "instance": instance, **labels},
        "annotations": {"summary": f"{name} on {instance}", "runbook_url": "https://runbooks.example.com/errors"},
        "startsAt": starts_at,
        "endsAt": "2026-11-27T10:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
        "fingerprint": f"fp-{name}-{instance}",
    }


REFIRED = "2026-11-27T10:25:00Z"  # a later startsAt: the alert fired again (Prometheus gives it a new one)


def alertmanager(
    *alerts: dict[str, Any], group: str = '{}:{alertname="HighErrorRate"}', **common: str
) -> dict[str, Any]:
    """Alertmanager's webhook body (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)."""
    alerts = alerts or (am_alert(),)
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "incident-bot",
        "groupLabels": {"alertname": alerts[0]["labels"].get("alertname", "")},
        "commonLabels": {"alertname": alerts[0]["labels"].get("alertname", ""), **common},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com",
        "alerts": list(alerts),
    }


def grafana(status: str = "firing") -> dict[str, Any]:
    """Grafana's webhook contact point body, after the example in Grafana's webhook notifier documentation."""
    return {
        "receiver": "My Super Webhook",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
                "annotations": {
                    "description": "The system has high memory usage",
                    "runbook_url": "https://myrunbook.com/runbook/1234",
                    "summary": "This alert was triggered for zone us-1",
                },
                "startsAt": "2021-10-12T09:51:03.157076+02:00",
                "endsAt": "2021-10-12T09:56:03.157076+02:00" if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
                "fingerprint": "c6eadffa33fcdf37",
                "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"B": 44.23943737541908, "C": 1},
                "valueString": "[ var='B' labels={__name__=go_memstats_alloc_bytes} value=44.2 ]",
            }
        ],
        "groupLabels": {},
        "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
        "commonAnnotations": {},
        "externalURL": "https://play.grafana.org/",
        "version": "1",
        "groupKey": '{}:{alertname="High memory usage"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1]  (High memory usage blue us-1)",
        "state": "alerting",
        "message": "**Firing**\n\nLabels:\n - alertname = High memory usage\n",
    }


def generic(**fields: Any) -> dict[str, Any]:
    """GitLab's generic alert, after the example in GitLab's HTTP endpoint documentation."""
    return {
        "title": "Incident title",
        "description": "Short description of the incident",
        "start_time": "2019-09-12T06:00:55Z",
        "service": "service affected",
        "monitoring_tool": "value",
        "hosts": "value",
        "severity": "high",
        "fingerprint": "d19381d4e8ebca87b55cda6e8eee7385",
        "foo": {"bar": {"baz": 42}},
        **fields,
    }


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
