"""`/readyz` needs no sign-in: it says whether Redis answers, never where Redis is or what it said."""

from __future__ import annotations

import logging

import pytest
from redis import Redis

from service.config import Settings
from service.rules import RuleSet
from service.web.app import create_app


def test_readiness_without_redis_says_unavailable_and_logs_the_detail(
    settings: Settings, rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down: 503 "unavailable" with no host, port or error text; the log line has the detail."""
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    client = create_app(settings, connection=dead, rules=rules).test_client()
    with caplog.at_level(logging.WARNING, logger="incident_bot.web"):
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json is not None and answer.json["status"] == "unavailable" and answer.json["redis"] == "unavailable"
    text = answer.get_data(as_text=True)
    for leak in ("127.0.0.1", "port", "Error", "refused", ":1"):
        assert leak not in text, leak
    assert any("127.0.0.1" in r.getMessage() and "readyz" in r.getMessage() for r in caplog.records)
