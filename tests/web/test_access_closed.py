"""The board, the incident pages, search and the handbook are closed in a normal start.

`incident-bot web` with a webhook secret and no board sign-in used to show every page to any request from
127.0.0.1, which behind a reverse proxy on the same host is everyone. Loopback access is now a local trial's
alone (`serve` without a secret, `--insecure-local-trial`, INCIDENT_BOT_LOCAL_TRIAL=1); otherwise a page
needs sign-in or the kiosk token, and says which settings turn the board on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis

from service.config import Settings
from service.rules import RuleSet
from service.store import open_store
from service.web.app import create_app
from tests.web.board.seed import incident, record

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
TITLE = "Checkout errors for EU customers"
KIOSK = "kiosk-token-of-the-wall-display"
PAGES = ["/board", "/incidents/acme/shop/1", "/incidents?q=checkout", "/handbook", "/handbook/severities"]
JSON_PAGES = ["/board/live", "/board/chart.svg"]
BOARD_ENV = ("INCIDENT_BOT_BOARD_CLIENT_ID", "INCIDENT_BOT_BOARD_CLIENT_SECRET", "INCIDENT_BOT_BOARD_TOKEN")


@pytest.fixture
def index_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An index holding one incident (acme/shop#1); no board setting in the environment."""
    url = f"sqlite:///{tmp_path / 'incidents.sqlite3'}"
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", url)
    for name in BOARD_ENV:
        monkeypatch.delenv(name, raising=False)
    store = open_store(url)
    now = datetime.now(UTC).replace(microsecond=0)
    record(store, incident(1, TITLE, now=now, started_minutes_ago=30, severity=1, project_path="acme/shop"))
    store.engine.dispose()
    yield


def app_client(settings: Settings, redis_conn: Redis, rules: RuleSet) -> FlaskClient:
    """The edge's app as `incident-bot web` builds it (board settings from the environment)."""
    return create_app(settings, connection=redis_conn, rules=rules).test_client()


@pytest.mark.usefixtures("index_env")
def test_a_production_start_without_sign_in_shows_nothing_to_loopback(
    redis_conn: Redis, rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    """A secret, no sign-in, no kiosk token: every page from 127.0.0.1 is a 404 naming the settings; logged once."""
    with caplog.at_level(logging.INFO):
        client = app_client(Settings(webhook_secret="s3cret"), redis_conn, rules)
    for path in [*PAGES, *JSON_PAGES]:
        answer = client.get(path, environ_base=LOOPBACK)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 404, (path, answer.status_code)
        assert "INCIDENT_BOT_BOARD_CLIENT_ID" in text and "INCIDENT_BOT_BOARD_TOKEN" in text, path
        assert TITLE not in text and "Severity" not in text, path
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("board off")]
    assert len(said) == 1 and "INCIDENT_BOT_BOARD_CLIENT_ID" in said[0] and "INCIDENT_BOT_BOARD_TOKEN" in said[0]


@pytest.mark.usefixtures("index_env")
def test_a_kiosk_token_alone_admits_only_who_presents_it(
    redis_conn: Redis, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kiosk token set, no sign-in: loopback without it is a 401 naming the settings; with it, the board."""
    monkeypatch.setenv("INCIDENT_BOT_BOARD_TOKEN", KIOSK)
    client = app_client(Settings(webhook_secret="s3cret"), redis_conn, rules)
    for path in PAGES:
        answer = client.get(path, environ_base=LOOPBACK)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 401 and "INCIDENT_BOT_BOARD_TOKEN" in text and TITLE not in text, path
    assert client.get("/board/live", environ_base=LOOPBACK).status_code == 401
    shown = client.get(f"/board?token={KIOSK}", environ_base=LOOPBACK, follow_redirects=True)
    assert shown.status_code == 200 and TITLE in shown.get_data(as_text=True)
    assert client.get("/handbook", environ_base=LOOPBACK).status_code == 200  # the kiosk cookie, now set


@pytest.mark.usefixtures("index_env")
@pytest.mark.parametrize(
    "settings", [Settings(webhook_secret="s3cret", local_trial=True), Settings(webhook_secret="")], ids=str
)
def test_a_local_trial_still_shows_the_board_to_this_machine(
    redis_conn: Redis, rules: RuleSet, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """An explicit local trial, or no secret at all (`serve`'s trial): loopback sees the pages, others do not."""
    with caplog.at_level(logging.INFO):
        client = app_client(settings, redis_conn, rules)
    for path in PAGES:
        assert client.get(path, environ_base=LOOPBACK).status_code == 200, path
        assert client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403, path
    assert TITLE in client.get("/board", environ_base=LOOPBACK).get_data(as_text=True)
    assert not [r for r in caplog.records if r.getMessage().startswith("board off")]


@pytest.mark.usefixtures("index_env")
def test_with_sign_in_configured_loopback_is_sent_to_sign_in(
    redis_conn: Redis, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign-in configured: a page from 127.0.0.1 without a session redirects to sign-in, as from anywhere."""
    monkeypatch.setenv("INCIDENT_BOT_BOARD_CLIENT_ID", "board-app")
    monkeypatch.setenv("INCIDENT_BOT_BOARD_CLIENT_SECRET", "board-secret")
    client = app_client(Settings(webhook_secret="s3cret"), redis_conn, rules)
    for path in PAGES:
        answer = client.get(path, environ_base=LOOPBACK)
        assert answer.status_code == 302 and "/board/sign-in" in answer.headers["Location"], path


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["web", "--insecure-local-trial"], {"GITLAB_WEBHOOK_SECRET": "s3cret"}),
        (["web", "--insecure-local-trial"], {}),
        (["web"], {"INCIDENT_BOT_LOCAL_TRIAL": "1"}),
    ],
)
def test_web_s_local_trial_flag_reaches_the_app(argv: list[str], env: dict[str, str], monkeypatch) -> None:
    """`web --insecure-local-trial` is a local trial for the app the server builds, not only for the start check."""
    import service.web.server
    from service.cli import main

    seen: list[bool] = []
    monkeypatch.setattr(
        service.web.server,
        "run_gunicorn",
        lambda bind, workers, read_timeout: seen.append(Settings.from_env().local_trial),
    )
    monkeypatch.delenv("GITLAB_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("INCIDENT_BOT_LOCAL_TRIAL", "")  # recorded, so what the flag sets is undone after the test
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 0
    assert seen == [True]


def test_a_production_web_is_no_local_trial(monkeypatch) -> None:
    """`web` with a secret and no flag builds its app outside a local trial."""
    import service.web.server
    from service.cli import main

    seen: list[bool] = []
    monkeypatch.setattr(
        service.web.server,
        "run_gunicorn",
        lambda bind, workers, read_timeout: seen.append(Settings.from_env().local_trial),
    )
    monkeypatch.setenv("INCIDENT_BOT_LOCAL_TRIAL", "")
    monkeypatch.setenv("GITLAB_WEBHOOK_SECRET", "s3cret")
    assert main(["web"]) == 0
    assert seen == [False]
