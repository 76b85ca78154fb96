"""The operations settings beyond `Settings`: which projects the bot serves, its public URL, the reconcile period."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ..bounds import parse_duration
from ..errors import ConfigError
from .reconcile import DEFAULT_PERIOD


@dataclass(frozen=True)
class OpsSettings:
    """Read from the environment by the commands and the scheduled jobs, never at import."""

    projects: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    public_url: str = ""
    reconcile_every: timedelta = DEFAULT_PERIOD

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpsSettings:
        """`INCIDENT_BOT_PROJECTS`, `INCIDENT_BOT_GROUPS` (comma-separated paths), `INCIDENT_BOT_PUBLIC_URL`,
        `INCIDENT_BOT_RECONCILE_EVERY` (a duration: 10m)."""
        env = os.environ if env is None else env
        every = env.get("INCIDENT_BOT_RECONCILE_EVERY", "").strip()
        try:
            period = parse_duration(every) if every else DEFAULT_PERIOD
        except ValueError as exc:
            raise ConfigError(f"incident-bot: INCIDENT_BOT_RECONCILE_EVERY: {exc}") from None
        return cls(
            projects=_paths(env.get("INCIDENT_BOT_PROJECTS", "")),
            groups=_paths(env.get("INCIDENT_BOT_GROUPS", "")),
            public_url=env.get("INCIDENT_BOT_PUBLIC_URL", "").strip(),
            reconcile_every=period,
        )


def _paths(raw: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("/") for p in raw.split(",") if p.strip().strip("/"))
