"""What every job of a worker process shares (the Runtime), how it is built, and the one installed."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis import Redis
from rq import Queue

from .. import logs
from ..config import Settings
from ..errors import ConfigError
from ..events import Event
from ..gitlab import BotClient, GitLabClient
from ..gitlab.history import GitLabHistory
from ..notify.channels import ChannelConfigError, configured_channels
from ..paging.settings import PagingSettings
from ..queue import EventQueue, notify_queue_name, remember_bot_username
from ..rules import RulesError, RuleSet, fingerprint, load_rules
from ..trial import SERVE_CHILD
from .delivery import Delivery
from .followups import FollowUps
from .index import DeliveryIndex
from .paging import PagingFollowUps

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger("incident_bot.worker")
SILENT = logging.Logger("incident_bot.silent", logging.CRITICAL + 1)  # says nothing, whatever the level
BOT_CACHE_SECONDS = 3600


@dataclass
class Runtime:
    """What every job of a worker process shares: settings, rules, Redis, the GitLab client, follow-ups."""

    settings: Settings
    rules: RuleSet
    connection: Redis
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    followups: FollowUps | None = None  # notifications and reminders; None: a plan's only effects are in GitLab
    index: DeliveryIndex | None = None  # the incident index each applied delivery updates; None: no index
    trial_index: bool = False  # the index is a local trial's own: dry-run deliveries are recorded there too
    _client: GitLabClient | None = None
    _rules_seen: tuple[tuple[str, int, int], ...] | None = None

    def refresh_rules(self) -> bool:
        """Pick up edited rules between jobs; an invalid edit is logged and the last good rules stay."""
        seen = fingerprint(self.settings.rules_dir)
        if self._rules_seen is None:
            self._rules_seen = seen
            return False
        if seen == self._rules_seen:
            return False
        self._rules_seen = seen
        try:
            rules = load_rules(self.settings.rules_dir)
        except RulesError as exc:
            log.error("rules not reloaded, keeping the last good ones: %s", exc.report())
            return False
        self.rules = rules
        log.info("rules reloaded: %s", rules.summary())
        return True

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run

    def client(self) -> GitLabClient:
        """The process's GitLab client (one HTTP session); jobs use `for_delivery` copies of it."""
        if self._client is None:
            self._client = BotClient.for_settings(self.settings, self.connection)
        return self._client

    def bot_username(self) -> str:
        """The bot's own GitLab username, asked once an hour (`GET /user`) and shared through Redis."""
        return self.known_bot_username() or self.ask_bot_username()

    def known_bot_username(self) -> str | None:
        """The bot's username as a worker asked it within the hour (dry-run: the configured one); None: ask."""
        if self.dry_run:
            return self.settings.bot_username
        keys = self.settings.keys
        cached = self.connection.get(keys.bot_username)
        if cached and self.connection.exists(keys.bot_user_checked):
            return cached.decode() if isinstance(cached, bytes) else str(cached)
        return None

    def ask_bot_username(self) -> str:
        """Ask GitLab the bot's username (`GET /user`) and share it through Redis for an hour."""
        keys = self.settings.keys
        username = self.client().current_user().username
        remember_bot_username(self.connection, username, keys)
        self.connection.set(keys.bot_user_checked, "1", ex=BOT_CACHE_SECONDS)
        return username

    def delivery(self, event: Event, blog: logs.Bound, bot: str, access: int | None = None) -> Delivery:
        """The context of one job: this event, a client bound to its event UUID, the rules as of now."""
        return Delivery(
            event=event,
            client=None if self.dry_run else self.client().for_delivery(event.event_uuid),
            log=blog,
            rules=self.rules,
            clock=self.clock,
            bot_username=bot,
            actor_access=access,
            dry_run=self.dry_run,
            redis=self.connection,
            keys=self.settings.keys,
            alertmanager_url=self.settings.alertmanager_url,
        )


_runtime: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one the jobs of this process use."""
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    """The installed Runtime; jobs call this first."""
    if _runtime is None:
        raise RuntimeError("incident-bot worker runtime not installed; start it with `incident-bot worker`")
    return _runtime


def installed() -> Runtime | None:
    """The installed Runtime, or None (the RQ worker class refreshes its rules between jobs)."""
    return _runtime


def _history(settings: Settings) -> Callable[[], GitLabHistory] | None:
    """GitLab's history for the index's catch-up (a reindex of one issue); None in dry-run (no token)."""
    if settings.dry_run:
        return None

    def history() -> GitLabHistory:
        return GitLabHistory(settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout)

    return history


def build_runtime(
    settings: Settings,
    rules: RuleSet,
    connection: Redis,
    *,
    open_index: Callable[[], Store] | None = None,
    trial_index: bool = False,
) -> Runtime:
    """The Runtime `incident-bot worker` installs: GitLab client, notifications, reminders, the index if given."""
    try:
        # In serve's children the parent has said, once, which channels have no target.
        quiet = os.environ.get(SERVE_CHILD) == "1"
        targets = configured_channels(rules.channels.values(), os.environ, SILENT if quiet else log)
    except ChannelConfigError as exc:
        raise ConfigError(f"incident-bot: {exc}") from None
    followups = FollowUps(
        connection=connection,
        queue=Queue(notify_queue_name(settings.queue_name), connection=connection),
        targets={t.channel.name: t.channel for t in targets},
        deliveries=EventQueue(connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, keys=settings.keys),
        drill_minute_seconds=settings.drill_minute_seconds,
    )
    paging = PagingSettings.from_env(os.environ)  # a bad value stops the start, as every setting does
    followups.paging = PagingFollowUps(followups.queue, minute_seconds=paging.minute_seconds)
    index = DeliveryIndex(open_index, connection, _history(settings), settings.queue_name) if open_index else None
    runtime = Runtime(
        settings=settings, rules=rules, connection=connection, followups=followups, index=index, trial_index=trial_index
    )
    if index is not None:  # notifications and reminders show on the incident page
        followups.attach_index(lambda: index.store(runtime.rules, runtime.bot_username()))
    return runtime
