"""Board fixtures: an index seeded with incidents, and a small Flask app with the board.

Here `store` is that seeded SQLite index; elsewhere (tests/indexdb.py) it is an empty index on each backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from service.config import Settings
from service.rules import RuleSet
from service.store import Store, open_store
from service.web.board import BoardConfig, register_board

from .seed import incident, record

GITLAB = "https://gitlab.example.com"
KIOSK_TOKEN = "kiosk-7f3c9a2e-token"
SECRET_TITLE = "Leaked signing key in build logs"
SECRET_WORD = "pangolin"  # only in the confidential incident's description


@pytest.fixture
def now() -> datetime:
    """The moment the tests' incidents are seeded against."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def store(tmp_path: Path, now: datetime) -> Iterator[Store]:
    """An index holding five incidents: three active (one confidential), one resolved yesterday, one long ago."""
    index = open_store(f"sqlite:///{tmp_path / 'incidents.sqlite3'}")
    record(
        index,
        incident(
            1,
            "Checkout errors for EU customers",
            now=now,
            started_minutes_ago=95,
            severity=1,
            last_update_minutes_ago=50,
            roles={"incident-manager": "im-alice", "eoc": "eoc-carol"},
            description="Payments fail with 502",
        ),
        incident(2, "Search is slow", now=now, started_minutes_ago=400, severity=3, phase="mitigation"),
        incident(
            3,
            SECRET_TITLE,
            now=now,
            started_minutes_ago=30,
            severity=2,
            confidential=True,
            last_update_minutes_ago=5,
            description=f"the {SECRET_WORD} key",
            category="security",
            project_id=43,
            project_path="acme/security",
        ),
        incident(4, "Login outage", now=now, started_minutes_ago=1500, severity=2, resolved_minutes_ago=1200),
        incident(
            5,
            "Ancient disk alarm",
            now=now,
            started_minutes_ago=60 * 24 * 60,
            severity=4,
            resolved_minutes_ago=60 * 24 * 59,
        ),
    )
    yield index
    index.engine.dispose()


def board_app(settings: Settings, store: Store | Callable[[], Store], rules: RuleSet, config: BoardConfig) -> Flask:
    """A Flask app with just the board blueprint (as the app factory registers it)."""
    app = Flask("board_test")
    register_board(app, settings, store, rules, config)
    return app


@pytest.fixture
def config() -> BoardConfig:
    """Sign-in configured: members of `acme` may see the board; a kiosk token."""
    return BoardConfig(
        client_id="board-app", client_secret="board-secret", groups=("acme", "acme/sre"), kiosk_token=KIOSK_TOKEN
    )


@pytest.fixture
def app(store: Store, rules: RuleSet, config: BoardConfig) -> Flask:
    """The board in production mode (Secure cookies), GitLab at gitlab.example.com."""
    return board_app(Settings(gitlab_url=GITLAB), store, rules, config)


@pytest.fixture
def worker_index(settings, redis_conn, rules: RuleSet, tmp_path: Path, monkeypatch) -> Iterator[Store]:
    """The in-process worker with an index (SQLite) its jobs write, no channel targets, the clock at NOW: the index."""
    from service.notify.jobs import record_outcomes_with
    from service.worker import build_runtime, install
    from tests.conftest import NOW

    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_RESPONDERS", raising=False)
    monkeypatch.delenv("INCIDENT_BOT_CHANNEL_EXECUTIVES", raising=False)
    index = open_store(f"sqlite:///{tmp_path / 'worker.sqlite3'}")
    runtime = build_runtime(settings, rules, redis_conn, open_index=lambda: index)
    runtime.clock = lambda: NOW
    install(runtime)
    yield index
    record_outcomes_with(None)
    index.engine.dispose()
