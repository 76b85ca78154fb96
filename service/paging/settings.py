"""Paging's settings, read from the environment once, each default declared here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import ConfigError

DEFAULT_MINUTE_SECONDS = 60.0
DEFAULT_LINK_MINUTES = 24 * 60  # an acknowledgement link works for a day (a page escalates long before)
MIN_SECRET_CHARS = 16


@dataclass(frozen=True)
class PagingSettings:
    """How long a paging minute lasts, and where acknowledgement links point (off unless both are set)."""

    minute_seconds: float = DEFAULT_MINUTE_SECONDS  # INCIDENT_BOT_PAGING_MINUTE_SECONDS: shorter for tests, trials
    public_url: str = ""  # INCIDENT_BOT_PUBLIC_URL: the bot's address as people reach it; its origin is used
    secret: str = field(default="", repr=False)  # INCIDENT_BOT_ACK_SECRET: signs the links
    link_minutes: float = DEFAULT_LINK_MINUTES  # INCIDENT_BOT_ACK_LINK_MINUTES: how long a link works

    @property
    def links(self) -> bool:
        """Acknowledgement links are on: closed by default, open only with a public URL and a secret."""
        return bool(self.public_url and self.secret)

    def ack_url(self, token: str) -> str:
        """The link of one token: `<origin of the public URL>/ack/<token>`."""
        return f"{self.public_url}/ack/{token}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PagingSettings:
        """Read and check the `INCIDENT_BOT_PAGING_*`, `INCIDENT_BOT_PUBLIC_URL` and `INCIDENT_BOT_ACK_*` variables."""
        minute = _number(env, "INCIDENT_BOT_PAGING_MINUTE_SECONDS", DEFAULT_MINUTE_SECONDS, 3600)
        link = _number(env, "INCIDENT_BOT_ACK_LINK_MINUTES", DEFAULT_LINK_MINUTES, 7 * 24 * 60)
        secret = env.get("INCIDENT_BOT_ACK_SECRET", "")
        if secret and len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"incident-bot: INCIDENT_BOT_ACK_SECRET must hold at least {MIN_SECRET_CHARS} characters")
        return cls(minute, _origin(env.get("INCIDENT_BOT_PUBLIC_URL", "").strip()), secret, link)


def _number(env: Mapping[str, str], name: str, default: float, most: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"incident-bot: {name} must be a number, got {raw!r}") from None
    if not 0 < value <= most:  # NaN fails this too
        raise ConfigError(f"incident-bot: {name} must be in (0, {most:g}], got {raw}")
    return value


def _origin(url: str) -> str:
    """The origin (`https://bot.example.com`) of the public URL; "" when unset."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError("incident-bot: INCIDENT_BOT_PUBLIC_URL must be an http(s) URL")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("incident-bot: INCIDENT_BOT_PUBLIC_URL has an invalid port") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
