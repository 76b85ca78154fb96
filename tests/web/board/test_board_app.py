"""The board in the edge's app: create_app serves it, opening the index only at the first page view."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

from service.config import Settings
from service.rules import RuleSet
from service.web.app import create_app


def test_create_app_serves_the_board_in_a_local_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_conn: Redis, rules: RuleSet
) -> None:
    """Without sign-in settings, `create_app` shows the board to this machine only and says so."""
    data = tmp_path / "data"
    monkeypatch.setenv("INCIDENT_BOT_DATA_DIR", str(data))
    for name in ("INCIDENT_BOT_DATABASE_URL", "INCIDENT_BOT_BOARD_CLIENT_ID", "INCIDENT_BOT_BOARD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(Settings(webhook_secret="s3cret", local_trial=True), connection=redis_conn, rules=rules)
    assert not data.exists()  # the edge started without touching the index
    client = app.test_client()
    page = client.get("/board", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert page.status_code == 200 and "this machine only" in page.get_data(as_text=True)
    assert (data / "incidents.sqlite3").exists()
    assert client.get("/board", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403
    assert client.get("/healthz").status_code == 200
    assert "Content-Security-Policy" not in client.get("/healthz").headers  # the edge's answers are untouched


def test_create_app_with_a_bad_board_setting_raises_a_config_error(
    monkeypatch: pytest.MonkeyPatch, redis_conn: Redis, rules: RuleSet
) -> None:
    """A bad board setting is an exception naming it, which gunicorn or a caller sees: never the process's exit."""
    from service.errors import ConfigError

    monkeypatch.setenv("INCIDENT_BOT_BOARD_SESSION_HOURS", "abc")
    with pytest.raises(ConfigError, match="INCIDENT_BOT_BOARD_SESSION_HOURS must be a number, got 'abc'"):
        create_app(Settings(webhook_secret="s3cret"), connection=redis_conn, rules=rules)
