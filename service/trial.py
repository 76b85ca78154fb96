"""Where a running `serve` is, and the local trial's own index: one Redis and one index story for every command.

`serve` writes `serve.json` in the data directory (INCIDENT_BOT_DATA_DIR, default `data/`): its pid, the
Redis it uses (the embedded one when REDIS_URL is unset), the index, and whether it is a local trial.
A command started beside it with REDIS_URL unset uses that Redis, and says so. A local trial (no
GITLAB_TOKEN) indexes its dry-run deliveries into `trial.sqlite3`, never into the real index: a real
start never shows them, and `report` reads them only while a trial `serve` runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .config import Settings

RUNFILE = "serve.json"
TRIAL_INDEX = "trial.sqlite3"
SAMPLE_FILE = "sample-delivery.json"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_DATA_DIR = "data"  # as the index's own default (service/store/engine.py)
SERVE_CHILD = "INCIDENT_BOT_SERVE_CHILD"  # in serve's children: the parent has said the start-up warnings
TRIAL_WARNING = (
    "incident-bot: LOCAL TRIAL: GITLAB_WEBHOOK_SECRET is not set, every delivery is accepted unverified. "
    "Never expose this receiver."
)
BOARD_TRIAL = "incident-bot: LOCAL TRIAL: the board is shown to this machine without sign-in. Never expose it."


@dataclass(frozen=True)
class Running:
    """What a running `serve` wrote about itself."""

    pid: int
    redis_url: str
    index_url: str
    trial: bool
    bind: str


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The data directory: INCIDENT_BOT_DATA_DIR, else `data/` under the current directory."""
    env = os.environ if env is None else env
    return Path(env.get("INCIDENT_BOT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR)


def index_url(env: Mapping[str, str] | None = None) -> str:
    """The real index's URL as the store reads it (INCIDENT_BOT_DATABASE_URL, else SQLite in the data dir)."""
    env = os.environ if env is None else env
    return env.get("INCIDENT_BOT_DATABASE_URL", "").strip() or f"sqlite:///{data_dir(env) / 'incidents.sqlite3'}"


def trial_index_url(env: Mapping[str, str] | None = None) -> str:
    """The local trial's own index: a SQLite file beside (never inside) the real one."""
    return f"sqlite:///{data_dir(env) / TRIAL_INDEX}"


def write_runfile(running: Running, env: Mapping[str, str] | None = None) -> Path:
    """Record a starting `serve` (the file is removed when it stops)."""
    path = data_dir(env) / RUNFILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(running)))
    return path


def running_serve(env: Mapping[str, str] | None = None) -> Running | None:
    """The `serve` running from this data directory, or None (no file, or its process is gone)."""
    path = data_dir(env) / RUNFILE
    try:
        running = Running(**json.loads(path.read_text()))
        os.kill(running.pid, 0)
    except (OSError, ValueError, TypeError):
        return None
    return running


def redis_for(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The Redis a command uses and why: REDIS_URL (or Sentinel), a running serve's, or the default."""
    env = os.environ if env is None else env
    configured = Settings.from_env(env).redis_url
    if configured:
        return configured, "REDIS_URL"
    running = running_serve(env)
    if running is not None:
        return running.redis_url, f"the Redis of the serve running as pid {running.pid} ({data_dir(env) / RUNFILE})"
    return DEFAULT_REDIS, "the default: REDIS_URL is unset and no serve runs from this data directory"


def shown(url: str) -> str:
    """A URL fit to print: the password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def sample_payload(now: datetime) -> dict[str, Any]:
    """A GitLab `Issue Hook` delivery opening an incident now: what the banner's sample curl sends."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    web = "https://gitlab.example.com/shop/web"
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": {"id": 7, "name": "Alice", "username": "alice"},
        "project": {"id": 1, "name": "web", "path_with_namespace": "shop/web", "web_url": web},
        "object_attributes": {
            "id": 301,
            "iid": 23,
            "title": "Checkout returns 500 errors",
            "description": "Customers cannot pay since the last deploy.",
            "author_id": 7,
            "project_id": 1,
            "created_at": stamp,
            "updated_at": stamp,
            "state": "opened",
            "action": "open",
            "type": "Incident",
            "confidential": False,
            "severity": "unknown",
            "url": f"{web}/-/issues/23",
            "labels": [],
        },
        "labels": [],
        "assignees": [],
        "changes": {},
    }


def write_sample(env: Mapping[str, str] | None = None, now: datetime | None = None) -> Path:
    """The sample delivery in the data directory (dated now, so `report`'s default window shows it)."""
    path = data_dir(env) / SAMPLE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sample_payload(now or datetime.now(UTC)), indent=1))
    return path
