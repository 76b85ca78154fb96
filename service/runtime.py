"""Assemble a worker process's Runtime from settings, rules and Redis."""

from __future__ import annotations

from redis import Redis

from .config import Settings
from .rules import RuleSet
from .worker import Runtime


def build_runtime(settings: Settings, rules: RuleSet, connection: Redis) -> Runtime:
    """The Runtime `incident-bot worker` installs: GitLab client, and side jobs for notifications and reminders."""
    return Runtime(settings=settings, rules=rules, connection=connection)
