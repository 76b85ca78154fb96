"""Assemble a worker process's Runtime from settings, rules and Redis."""

from __future__ import annotations

import logging
import os

from redis import Redis
from rq import Queue

from .channels import Channel, ChannelConfigError, ChannelKind, configured_channels
from .config import Settings
from .rules import RuleSet
from .sidejobs import SideJobs
from .worker import Runtime

log = logging.getLogger("incident_bot.worker")


def notify_queue_name(settings: Settings) -> str:
    return f"{settings.queue_name}-notify"


def build_runtime(settings: Settings, rules: RuleSet, connection: Redis) -> Runtime:
    """The Runtime `incident-bot worker` installs: GitLab client, notifications and reminders."""
    channels = [Channel(c.name, ChannelKind(c.kind), c.target_env, c.secret_env) for c in rules.channels.values()]
    try:
        targets = configured_channels(channels, os.environ, log)
    except ChannelConfigError as exc:
        raise SystemExit(f"incident-bot: {exc}") from None
    side_jobs = SideJobs(
        connection=connection,
        queue=Queue(notify_queue_name(settings), connection=connection),
        targets={t.channel.name: t.channel for t in targets},
    )
    return Runtime(settings=settings, rules=rules, connection=connection, side_jobs=side_jobs)
