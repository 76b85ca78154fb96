"""The real delivery job on played histories: people act on the fake GitLab, each action's webhook body goes to
`process_delivery` at once (the worker's own code: load, plan, apply, index), at the action's time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import responses
from redis import Redis

from service.config import Settings
from service.rules import RuleSet
from service.store import Store
from service.worker import Runtime, install
from service.worker.index import DeliveryIndex
from service.worker.job import process_delivery
from service.worker.runtime import installed
from tests.conftest import GITLAB, test_redis_url
from tests.fakegitlab import FakeGitLab, install_responses
from tests.rulesdir import TEST_RULES


class Unavailable(RuntimeError):
    """The index is down at this delivery's time."""


class PlayedBot:
    """Deliveries of a played history to the real job; `store` (if any) is the index the job writes."""

    def __init__(
        self,
        history: FakeGitLab,
        rules: RuleSet,
        store: Store | None,
        connection: Redis,
        up: Callable[[datetime], bool] = lambda at: True,
    ):
        self.history, self.rules, self.store, self.up = history, rules, store, up
        self.deliveries = 0
        self.at: datetime | None = None
        # The job uses `connection`; the URL only names it (the bench passes a Redis of its own).
        settings = Settings(gitlab_url=GITLAB, gitlab_token="test-token", redis_url="redis://-", rules_dir=TEST_RULES)
        self.runtime = Runtime(settings, rules, connection, clock=self._now)

    def _now(self) -> datetime:
        assert self.at is not None
        return self.at

    def _open(self) -> Store:
        if self.at is not None and not self.up(self.at):
            raise Unavailable("the index is down")
        assert self.store is not None
        return self.store

    def deliver(self, payload: dict[str, Any], at: datetime) -> str:
        """Run the delivery job on this webhook body at `at` (GitLab's clock stands there too)."""
        self.deliveries += 1
        self.at = self.history.clock = at
        if self.store is not None:  # opened afresh for each delivery: down (raising) or up at its time
            queue = self.runtime.settings.queue_name
            self.runtime.index = DeliveryIndex(self._open, self.runtime.connection, None, queue)
        before = installed()
        install(self.runtime)
        try:
            return process_delivery(json.dumps(payload).encode(), {"delivery_id": f"d{self.deliveries}"})
        finally:
            if before is not None:
                install(before)


@contextmanager
def playing(
    history: FakeGitLab,
    rules: RuleSet,
    store: Store | None = None,
    connection: Redis | None = None,
    up: Callable[[datetime], bool] = lambda at: True,
) -> Iterator[PlayedBot]:
    """The real job against `history` (behind `responses`) while the block runs.

    Without `connection`, the test Redis is flushed first: a memory pointer left by an earlier test would
    name a note of another history.
    """
    own = connection is None
    conn = Redis.from_url(test_redis_url()) if connection is None else connection
    if own:
        conn.flushdb()
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            install_responses(rsps, history, GITLAB)
            yield PlayedBot(history, rules, store, conn, up)
    finally:
        if own:
            conn.close()


def play_script(
    script: Callable[[PlayedBot], None],
    history: FakeGitLab,
    rules: RuleSet,
    store: Store | None = None,
    connection: Redis | None = None,
    up: Callable[[datetime], bool] = lambda at: True,
) -> FakeGitLab:
    """Play `script` through the real job; the history it left in the fake GitLab."""
    with playing(history, rules, store, connection, up) as bot:
        script(bot)
    return history
