"""The board's settings, read from the environment when the blueprint is built (never at import)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from ...errors import ConfigError

DEFAULT_SESSION_HOURS = 8.0
MAX_SESSION_HOURS = 24 * 7
# How long a signed-in person's access to confidential incidents, checked with their own token at
# sign-in, is trusted; after that the next page view re-checks it through a sign-in round trip.
DEFAULT_ACCESS_MINUTES = 10.0
POLL_SECONDS = 5  # the issue asks for <= 10 s between a change and the page showing it


@dataclass(frozen=True)
class BoardConfig:
    """Sign-in (GitLab OAuth application), the groups allowed, the kiosk token, the session."""

    client_id: str = ""
    client_secret: str = ""
    groups: tuple[str, ...] = ()
    kiosk_token: str = ""
    session_secret: str = ""
    session_hours: float = DEFAULT_SESSION_HOURS
    access_minutes: float = DEFAULT_ACCESS_MINUTES
    public_url: str = ""  # the board's own base URL when behind a proxy (the OAuth redirect URI is built on it)
    poll_seconds: int = POLL_SECONDS

    @property
    def oauth(self) -> bool:
        """Whether Sign in with GitLab is configured (else: a local trial, localhost only)."""
        return bool(self.client_id)

    def signing_key(self, server_secret: str = "") -> str:
        """The session cookie's key: the one given, else derived from a server secret, else this process's own."""
        if self.session_secret:
            return self.session_secret
        # Every web process derives the same key, so a session works whichever process answers. Never the kiosk
        # token: whoever reads it off a wall display could then sign a person's session.
        for secret in (self.client_secret, server_secret):
            if secret:
                return hmac.new(secret.encode(), b"incident-bot board session", hashlib.sha256).hexdigest()
        return _PROCESS_KEY

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BoardConfig:
        """`INCIDENT_BOT_BOARD_*` variables (README, "Incident board")."""
        env = os.environ if env is None else env
        groups = tuple(g.strip().strip("/") for g in env.get("INCIDENT_BOT_BOARD_GROUPS", "").split(",") if g.strip())
        return cls(
            client_id=env.get("INCIDENT_BOT_BOARD_CLIENT_ID", "").strip(),
            client_secret=env.get("INCIDENT_BOT_BOARD_CLIENT_SECRET", "").strip(),
            groups=groups,
            kiosk_token=env.get("INCIDENT_BOT_BOARD_TOKEN", "").strip(),
            session_secret=env.get("INCIDENT_BOT_BOARD_SESSION_SECRET", "").strip(),
            session_hours=_hours(env.get("INCIDENT_BOT_BOARD_SESSION_HOURS", "")),
            public_url=env.get("INCIDENT_BOT_BOARD_URL", "").strip().rstrip("/"),
        )


def _hours(raw: str) -> float:
    if not raw.strip():
        return DEFAULT_SESSION_HOURS
    try:
        hours = float(raw)
    except ValueError:
        raise ConfigError(f"incident-bot: INCIDENT_BOT_BOARD_SESSION_HOURS must be a number, got {raw!r}") from None
    if not 0 < hours <= MAX_SESSION_HOURS:
        raise ConfigError(f"incident-bot: INCIDENT_BOT_BOARD_SESSION_HOURS must be in (0, {MAX_SESSION_HOURS}]")
    return hours


# Without a configured secret, sessions (kiosk cookies) last as long as this process.
_PROCESS_KEY = secrets.token_hex(32)
