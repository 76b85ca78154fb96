"""Settings read from the environment, once, by create_app() or the CLI."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .connection import RedisUrlError, sentinel_url
from .errors import ConfigError
from .keys import Keys

DEFAULT_MAX_BODY = 1024 * 1024  # GitLab issue bodies with long descriptions stay far below 1 MiB.
DEFAULT_SIGNATURE_WINDOW = 300  # seconds either side of now, as the Standard Webhooks spec suggests.
# GitLab sends a whole delivery at once; a client still sending after this long is stalling a receiver thread.
DEFAULT_READ_TIMEOUT = 10.0
TRUE = frozenset({"1", "true", "yes", "on"})


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: a `whsec_` secret is base64 (Standard Webhooks), any other is used as is."""
    if not secret.startswith("whsec_"):
        return secret.encode()
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise ValueError("GITLAB_WEBHOOK_SECRET starts with whsec_ but the rest is not valid base64") from None
    if not key:
        raise ValueError("GITLAB_WEBHOOK_SECRET is whsec_ with no key after it")
    return key


def shipped_rules_dir() -> Path:
    """The rules directory shipped with the package (or the checkout's `rules/`)."""
    here = Path(__file__).resolve().parent
    installed = here / "rules_data"  # where `pip install .` puts the shipped rules
    if installed.is_dir():
        return installed
    return here.parent / "rules"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"incident-bot: {name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"incident-bot: {name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything the processes need to know about their surroundings."""

    gitlab_url: str = "https://gitlab.com"
    gitlab_token: str = ""
    webhook_secret: str = ""
    redis_url: str = ""
    rules_dir: Path = Path("rules")
    queue_name: str = "incident-bot"
    max_body_bytes: int = DEFAULT_MAX_BODY
    signature_window: int = DEFAULT_SIGNATURE_WINDOW
    bot_username: str = "incident-bot"
    gitlab_timeout: float = 10.0
    # Worker maintenance: how fast an event held by a killed worker is retried.
    job_monitoring_interval: int = 5
    heartbeat_slack: int = 10
    maintenance_interval: int = 10
    dedupe_ttl: int = 7 * 24 * 3600
    # Seconds a request may take to arrive (headers and body) before the receiver hangs up.
    read_timeout: float = DEFAULT_READ_TIMEOUT
    # Explicitly allowed to run `web`/`worker` without GITLAB_WEBHOOK_SECRET (INCIDENT_BOT_LOCAL_TRIAL=1).
    local_trial: bool = False
    # How long a drill's minute lasts (INCIDENT_BOT_DRILL_MINUTE_SECONDS): injects fall due after_minutes x this.
    drill_minute_seconds: float = 60.0
    # Where the edge spools deliveries while Redis cannot be reached (INCIDENT_BOT_SPOOL_DIR; service/spool.py).
    spool_dir: Path = Path("data/spool")
    # The alert endpoints (issue 18): off while INCIDENT_BOT_ALERTS_TOKEN is unset; Grafana's HMAC secret optional.
    alerts_token: str = ""
    grafana_hmac_secret: str = ""
    alertmanager_url: str = ""  # INCIDENT_BOT_ALERTMANAGER_URL: where `@bot silence` creates silences

    @property
    def keys(self) -> Keys:
        """This deployment's Redis keys and job ids, namespaced by its queue (service/keys.py)."""
        return Keys.of_queue(self.queue_name)

    @property
    def dry_run(self) -> bool:
        """Without a token the bot plans and logs, and writes nothing."""
        return not self.gitlab_token

    @property
    def recovery_seconds(self) -> int:
        """Worst case before an event held by a killed worker is retried."""
        return self.job_monitoring_interval + self.heartbeat_slack + self.maintenance_interval

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the documented environment variables."""
        env = os.environ if env is None else env
        rules = env.get("INCIDENT_BOT_RULES", "").strip()
        secret = env.get("GITLAB_WEBHOOK_SECRET", "")
        try:
            signing_key(secret)
        except ValueError as exc:
            raise ConfigError(f"incident-bot: {exc}") from None
        read_timeout = _float(env, "INCIDENT_BOT_READ_TIMEOUT", DEFAULT_READ_TIMEOUT)
        if not 0 < read_timeout <= 3600:
            raise ConfigError(
                f"incident-bot: INCIDENT_BOT_READ_TIMEOUT must be between 0 and 3600 s, got {read_timeout}"
            )
        minute = _float(env, "INCIDENT_BOT_DRILL_MINUTE_SECONDS", 60.0)
        if not 0 < minute <= 3600:
            raise ConfigError(f"incident-bot: INCIDENT_BOT_DRILL_MINUTE_SECONDS must be in (0, 3600], got {minute}")
        return cls(
            gitlab_url=env.get("GITLAB_URL", "").strip().rstrip("/") or "https://gitlab.com",
            gitlab_token=env.get("GITLAB_TOKEN", "").strip(),
            webhook_secret=secret,
            redis_url=env.get("REDIS_URL", "").strip() or _sentinels(env),
            rules_dir=Path(rules) if rules else shipped_rules_dir(),
            queue_name=env.get("INCIDENT_BOT_QUEUE", "").strip() or "incident-bot",
            max_body_bytes=_int(env, "INCIDENT_BOT_MAX_BODY_BYTES", DEFAULT_MAX_BODY),
            signature_window=_int(env, "INCIDENT_BOT_SIGNATURE_WINDOW", DEFAULT_SIGNATURE_WINDOW),
            bot_username=env.get("INCIDENT_BOT_USERNAME", "").strip() or "incident-bot",
            gitlab_timeout=_float(env, "INCIDENT_BOT_GITLAB_TIMEOUT", 10.0),
            job_monitoring_interval=_int(env, "INCIDENT_BOT_JOB_MONITORING_INTERVAL", 5),
            heartbeat_slack=_int(env, "INCIDENT_BOT_HEARTBEAT_SLACK", 10),
            maintenance_interval=_int(env, "INCIDENT_BOT_MAINTENANCE_INTERVAL", 10),
            read_timeout=read_timeout,
            local_trial=env.get("INCIDENT_BOT_LOCAL_TRIAL", "").strip().lower() in TRUE,
            drill_minute_seconds=minute,
            spool_dir=Path(
                env.get("INCIDENT_BOT_SPOOL_DIR", "").strip()
                or Path(env.get("INCIDENT_BOT_DATA_DIR", "").strip() or "data") / "spool"
            ),
            alerts_token=env.get("INCIDENT_BOT_ALERTS_TOKEN", "").strip(),
            grafana_hmac_secret=env.get("INCIDENT_BOT_GRAFANA_HMAC_SECRET", ""),
            alertmanager_url=env.get("INCIDENT_BOT_ALERTMANAGER_URL", "").strip().rstrip("/"),
        )


def _sentinels(env: Mapping[str, str]) -> str:
    """REDIS_SENTINELS + REDIS_SENTINEL_MASTER as a sentinel URL (connection.sentinel_url); "" when unset."""
    try:
        return sentinel_url(env)
    except RedisUrlError as exc:
        raise ConfigError(f"incident-bot: {exc}") from None
