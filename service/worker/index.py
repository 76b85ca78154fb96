"""The worker's side of the incident index: record what each applied delivery observed, never failing the job.

The index is derived from GitLab (`incident-bot reindex` rebuilds it), and by the time this
runs GitLab is already written: a store that cannot be opened or written is a warning, and
the delivery still succeeds. Its issue is recorded for a catch-up (`store.pending`), which the
next successful write and the worker's maintenance pass apply by reindexing it from GitLab.
The store is opened once per worker process, at the first
applied delivery (a worker starts, and its tests run, without a database), and its
vocabulary follows the rules the job planned with (rebuilt when they reload).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import StopRequested

from ..store import pending

if TYPE_CHECKING:
    from ..gitlab.history import GitLabHistory
    from ..incident import IncidentState
    from ..plan import Plan
    from ..rules import RuleSet
    from ..store import Store
    from .delivery import Delivery
    from .executor import Applied

log = logging.getLogger("incident_bot.worker")
RETRY_OPEN_SECONDS = 60.0  # an index that would not open is tried again after this, not on every delivery
CATCH_UP_BATCH = 20  # issues reindexed per catch-up pass of the worker's maintenance
CATCH_UP_INLINE = 3  # issues reindexed after a delivery's own index write: that job waits for them
CATCH_UP_CHECK_SECONDS = 10.0  # a successful write looks for pending catch-ups at most this often


class index_guard:  # lower case, as contextlib.suppress: `with index_guard(log, "what failed"):`
    """The index's one failure policy: it never fails a delivery. What its block raises is logged once, never raised.

    The line says `<what>: <exception type>: <exception>`; `behind`, when given, is told `<type>: <exception>`
    instead (a write that records its issue for a catch-up logs that itself). After the block, `failed` says
    whether it raised; a block that returns its result leaves the fallback to the line after it.
    """

    def __init__(
        self, log: logging.Logger | logging.LoggerAdapter[Any], what: str, behind: Callable[[str], None] | None = None
    ):
        self._log = log
        self._what = what
        self._behind = behind
        self.failed = False

    def __enter__(self) -> index_guard:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        # None, KeyboardInterrupt and friends, or RQ's StopRequested (SIGTERM in an idle worker, an Exception
        # subclass): not the index's to swallow, or the worker would not stop.
        if not isinstance(exc, Exception) or isinstance(exc, StopRequested):
            return False
        self.failed = True
        why = f"{type(exc).__name__}: {exc}"
        if self._behind is not None:
            self._behind(why)
        else:
            self._log.warning("%s: %s", self._what, why)
        return True


class DeliveryIndex:
    """The process's incident index, opened on first use; `record` is the hook the delivery job calls."""

    def __init__(
        self,
        opener: Callable[[], Store],
        connection: Redis | None = None,
        history: Callable[[], GitLabHistory] | None = None,
        queue: str = "incident-bot",
    ):
        self._opener = opener
        self._connection = connection  # where pending catch-ups are kept; None: failures are only logged
        self._history = history  # GitLab's history, to reindex a pending issue; None (dry-run): no catch-up
        self._queue = queue  # the deployment's queue name: its pending catch-ups are its own
        self._checked_at: float | None = None
        self._store: Store | None = None
        self._vocab_of: tuple[RuleSet, str] | None = None  # the rules and bot username the vocabulary was built for
        self._failed_at: float | None = None

    def store(self, rules: RuleSet, bot_username: str, now: float | None = None) -> Store | None:
        """The open store with a vocabulary for these rules and bot; None while it cannot be opened."""
        now = time.monotonic() if now is None else now
        if self._store is None:
            if self._failed_at is not None and now - self._failed_at < RETRY_OPEN_SECONDS:
                return None
            opened: Store | None = None
            with index_guard(log, f"incident index not opened (retrying in {RETRY_OPEN_SECONDS:.0f} s)"):
                opened = self._opener()
            if opened is None:
                self._failed_at = now
                return None
            self._store, self._failed_at = opened, None
        if self._vocab_of is None or self._vocab_of[0] is not rules or self._vocab_of[1] != bot_username:
            from ..store.observe import vocabulary  # as above: deferred with the store

            self._store.vocab = vocabulary(rules, bot_username)
            self._vocab_of = (rules, bot_username)
        return self._store

    def record(
        self, delivery: Delivery, state: IncidentState, plan: Plan, outcome: Applied, payload: Mapping[str, Any]
    ) -> bool:
        """Record the delivery's Observation (called after `apply_plan` succeeded); False when the index failed."""
        from ..store.observe import observe  # the store package loads when a delivery is recorded, not at import

        now = delivery.clock()
        store = self.store(delivery.rules, delivery.bot_username, time.monotonic())
        event = delivery.event
        if store is None:
            self.behind(delivery, event.project_id, event.iid, "the index is not open")
            return False
        review_url = outcome.review[1] if outcome.review and outcome.review[2] else None  # opened by this plan
        # GitLab is written and the catch-up heals: a failing write records the issue for one.
        with index_guard(
            delivery.log,
            "incident index not updated",
            lambda why: self.behind(delivery, event.project_id, event.iid, why),
        ) as write:
            obs = observe(delivery.event, state, plan, store.vocab, now=now, payload=payload, review_url=review_url)
            if obs is not None:
                store.record(obs)
        if write.failed:
            return False
        self.catch_up(delivery.rules, delivery.bot_username, due_only=True)
        return True

    def behind(self, delivery: Delivery, project_id: int, iid: int, why: str) -> None:
        """An index write of the delivery about incident `project_id`#`iid` failed: record the incident for a
        catch-up (which rebuilds it, its follow-ups included), and say so."""
        if self._connection is None:
            delivery.log.warning("incident index not updated: %s", why)
            return
        try:
            pending.add(self._connection, self._queue, project_id, iid)
        except RedisError as exc:
            delivery.log.error("incident index not updated (%s) and no catch-up recorded: %s", why, exc)
            return
        self._checked_at = None  # the next successful write looks at once
        delivery.log.warning("incident index not updated (%s): recorded for a catch-up from GitLab", why)

    def catch_up(self, rules: RuleSet, bot_username: str, *, due_only: bool = False) -> int:
        """Reindex from GitLab up to CATCH_UP_BATCH issues whose index write failed; how many were caught up.

        `due_only`: after a delivery's write, look in Redis only every CATCH_UP_CHECK_SECONDS (or at once
        after a failure), not on every delivery, and take only CATCH_UP_INLINE issues (the delivery job waits). Each
        costs a few GitLab calls, and its follow-ups at most `store.reindex_followups.CATCH_UP` more.
        """
        if self._connection is None or self._history is None:
            return 0
        now = time.monotonic()
        if due_only and self._checked_at is not None and now - self._checked_at < CATCH_UP_CHECK_SECONDS:
            return 0
        self._checked_at = now
        try:
            waiting = pending.some(self._connection, self._queue, CATCH_UP_INLINE if due_only else CATCH_UP_BATCH)
        except RedisError as exc:
            log.warning("pending index catch-ups not read: %s", exc)
            return 0
        store = self.store(rules, bot_username) if waiting else None
        if store is None:
            return 0
        from ..store.reindex import reindex_issue  # as above: deferred with the store

        source, caught = self._history(), 0
        for project_id, iid in waiting:
            # It stays pending: the next pass tries again.
            with index_guard(log, f"index catch-up of {project_id}#{iid} failed, kept") as step:
                reindex_issue(store, source, store.vocab, project_id, iid)
                pending.done(self._connection, self._queue, project_id, iid)
            if step.failed:
                break
            caught += 1
        if caught:
            log.info("index caught up with %s issue(s) from GitLab", caught)
        return caught
