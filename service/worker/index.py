"""The worker's side of the incident index: record what each applied delivery observed, never failing the job.

The index is derived from GitLab (`incident-bot reindex` rebuilds it), and by the time this
runs GitLab is already written: a store that cannot be opened or written is a warning, and
the delivery still succeeds. The store is opened once per worker process, at the first
applied delivery (a worker starts, and its tests run, without a database), and its
vocabulary follows the rules the job planned with (rebuilt when they reload).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..plan import Plan
    from ..rules import RuleSet
    from ..store import Store
    from .delivery import Delivery
    from .executor import Outcome

log = logging.getLogger("incident_bot.worker")
RETRY_OPEN_SECONDS = 60.0  # an index that would not open is tried again after this, not on every delivery


class DeliveryIndex:
    """The process's incident index, opened on first use; `record` is the hook the delivery job calls."""

    def __init__(self, opener: Callable[[], Store]):
        self._opener = opener
        self._store: Store | None = None
        self._vocab_of: tuple[RuleSet, str] | None = None  # the rules and bot username the vocabulary was built for
        self._failed_at: float | None = None

    def store(self, rules: RuleSet, bot_username: str, now: float | None = None) -> Store | None:
        """The open store with a vocabulary for these rules and bot; None while it cannot be opened."""
        now = time.monotonic() if now is None else now
        if self._store is None:
            if self._failed_at is not None and now - self._failed_at < RETRY_OPEN_SECONDS:
                return None
            try:
                self._store = self._opener()
            except Exception as exc:  # noqa: BLE001 - the index is optional to a delivery: any failure to open is logged
                self._failed_at = now
                log.warning(
                    "incident index not opened (retrying in %.0f s): %s: %s",
                    RETRY_OPEN_SECONDS,
                    type(exc).__name__,
                    exc,
                )
                return None
            self._failed_at = None
        if self._vocab_of is None or self._vocab_of[0] is not rules or self._vocab_of[1] != bot_username:
            from ..store.observe import vocabulary  # as above: deferred with the store

            self._store.vocab = vocabulary(rules, bot_username)
            self._vocab_of = (rules, bot_username)
        return self._store

    def record(
        self, delivery: Delivery, state: IncidentState, plan: Plan, outcome: Outcome, payload: Mapping[str, Any]
    ) -> bool:
        """Record the delivery's Observation (called after `apply_plan` succeeded); False when the index failed."""
        from ..store.observe import observe  # the store package loads when a delivery is recorded, not at import

        now = delivery.clock()
        store = self.store(delivery.rules, delivery.bot_username, time.monotonic())
        if store is None:
            return False
        review_url = outcome.review[1] if outcome.review and outcome.review[2] else None  # opened by this plan
        try:
            obs = observe(delivery.event, state, plan, store.vocab, now=now, payload=payload, review_url=review_url)
            if obs is not None:
                store.record(obs)
        except Exception as exc:  # noqa: BLE001 - GitLab is written and `reindex` heals: never fail the delivery
            delivery.log.warning("incident index not updated: %s: %s", type(exc).__name__, exc)
            return False
        return True
