"""What the board's views share for one app: settings, the index opener, the rules, the clock and the caches.

`register_board` builds a `Board` and keeps it in `app.extensions[KEY]`; a view reads it with `board()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app

from service.config import Settings
from service.gitlab.oauth import GitLabSignIn
from service.reports.targets import targets_from_rules
from service.rules import RuleSet
from service.store import Scope, Store
from service.store.measure import measured

from .access import OFF_LOG, board_cookies, local_trial
from .changes import read_figures
from .chart import trend_svg
from .config import BoardConfig
from .session import Cookies
from .summary import WINDOW_DAYS, Cached, month

KEY = "incident_bot.board"
log = logging.getLogger("incident_bot.board")


@dataclass(frozen=True)
class Board:
    """One app's board: how it admits (config, cookies, trial, sign-in) and what it reads (index, rules, clock)."""

    config: BoardConfig
    cookies: Cookies
    trial: bool
    gitlab: GitLabSignIn | None
    rules: RuleSet
    index: Callable[[], Store]
    now: Callable[[], datetime]
    month: Cached
    charts: dict[str, Cached]
    changes: Cached  # changes.read_figures: the last 30 days' change-failure rates


def build(
    settings: Settings,
    store: Store | Callable[[], Store],
    rules: RuleSet,
    config: BoardConfig,
    clock: Callable[[], datetime] | None = None,
) -> Board:
    """The board's state for these settings and rules (the index opened at first use when `store` is a function)."""
    now_of = clock or (lambda: datetime.now(UTC))
    trial = local_trial(settings)
    if not (config.oauth or config.kiosk_token or trial):
        log.warning(OFF_LOG)  # once, at the start: the pages say it to each request
    gitlab = (
        GitLabSignIn(settings.gitlab_url, config.client_id, config.client_secret, timeout=settings.gitlab_timeout)
        if config.oauth
        else None
    )
    targets = targets_from_rules(rules)
    index = opened(store)

    def trend(scheme: str) -> Callable[[], str]:
        def draw() -> str:
            now = now_of()
            scope = Scope(started_from=now - timedelta(days=WINDOW_DAYS), started_to=now, include_drills=False)
            return trend_svg(measured(index().engine, scope, now), now, scheme)

        return draw

    return Board(
        config=config,
        cookies=board_cookies(config, settings),
        trial=trial,
        gitlab=gitlab,
        rules=rules,
        index=index,
        now=now_of,
        month=Cached(lambda: month(index(), rules, targets, now_of())),
        charts={scheme: Cached(trend(scheme)) for scheme in ("light", "dark")},
        changes=Cached(lambda: read_figures(index(), now_of())),
    )


def board() -> Board:
    """The board of the app serving this request."""
    found: Board = current_app.extensions[KEY]
    return found


def opened(store: Store | Callable[[], Store]) -> Callable[[], Store]:
    """A getter of the store, opening it on first use when given a function (`open_store`)."""
    # The app factory passes `open_store`: the edge starts, and its tests run, without a database.
    if isinstance(store, Store):
        return lambda: store
    lock = threading.Lock()
    held: list[Store] = []

    def get() -> Store:
        if not held:
            with lock:
                if not held:
                    held.append(store())
        return held[0]

    return get
