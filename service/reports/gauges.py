"""The index on `/metrics`: open incidents by severity and targets breached, read at scrape time and cached.

- `incident_bot_open_incidents{severity}`: incidents not resolved (the report's definition: no resolved time),
  drills left out, by their severity now (`none`: no severity label); every severity of the rules is listed.
- `incident_bot_breaches_total{target,severity}`: targets breached, by the report's own test (`figures.breaches`)
  over every incident the index holds (no window), under the highest severity reached.
- `incident_bot_follow_ups_open`, `incident_bot_follow_ups_overdue`: follow-ups (corrective actions) open now, and
  those of them due on or before today (UTC; the overdue pass's rule) (issue 20).
- `incident_bot_index_up`: 1 when the index was read; 0 (and none of the families above) when it could not be.

A counter must never go down, and that figure can: an escalated incident leaves its old severity's count, one
closed before anyone acknowledged it stops being an acknowledgement breach, a removed label or a reindex forgets
incidents. So the counter adds up only the figure's increases. Redis keeps, per series, the figure last seen and
the total so far, and one Lua call advances both and stores the figures every process then serves: the value is
the same whichever process answers, and never lower than a scrape before. Redis emptied, each series restarts at
the index's figure (a counter reset, to Prometheus). Redis down: this process reads the index itself and serves
the open gauges without the counters, whose state lives in Redis.

The index is read by one process at a time, at most once per CACHE_SECONDS (a Redis key taken with SET NX); the
others serve what it stored. prometheus_client is imported when first used (service.metrics' docstring says why).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError

from service.store import Scope, pending
from service.store.corrective import counts as follow_up_counts
from service.store.measure import measured
from service.store.query import conditions
from service.store.schema import incidents

from ..keys import Keys
from .figures import NONE_KEY, TARGETS, Targets, breaches
from .targets import targets_from_rules

log = logging.getLogger("incident_bot.metrics")
CACHE_SECONDS = 10.0
# KEYS: the counters' state, the figures; ARGV: the gauges (JSON: {"open": ..., "follow_ups": ...}), then pairs of
# series and the index's figure.
ADVANCE = """
local totals = {}
for i = 2, #ARGV, 2 do
  local series, figure = ARGV[i], tonumber(ARGV[i + 1])
  local total = figure
  local kept = redis.call('HGET', KEYS[1], series)
  if kept then
    local seen, was = string.match(kept, '^(%d+) (%d+)$')
    if seen then total = tonumber(was) + math.max(0, figure - tonumber(seen)) end
  end
  redis.call('HSET', KEYS[1], series, string.format('%d %d', figure, total))
  totals[series] = total
end
local gauges = cjson.decode(ARGV[1])
local figures = cjson.encode({up = 1, open = gauges.open, follow_ups = gauges.follow_ups, breaches = totals})
redis.call('SET', KEYS[2], figures)
return figures
"""


@dataclass(frozen=True)
class Figures:
    """What one read of the index gives `/metrics`; `breaches` None: no counters (their state is out of reach)."""

    up: bool
    open: dict[str, int]
    breaches: dict[str, int] | None = None  # "acknowledge:1" -> total
    follow_ups: dict[str, int] | None = None  # "open", "overdue" -> how many (None: figures of an older process)

    @classmethod
    def load(cls, raw: bytes | str) -> Figures:
        """From the JSON the Lua call stored (ValueError when it is not that)."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        opened, counted, tracked = data.get("open") or {}, data.get("breaches") or {}, data.get("follow_ups")
        return cls(
            bool(data.get("up")),
            {str(k): int(v) for k, v in opened.items()},
            {str(k): int(v) for k, v in counted.items()},
            {str(k): int(v) for k, v in tracked.items()} if isinstance(tracked, dict) else None,
        )


DOWN = Figures(False, {})


Read = tuple[dict[str, int], dict[str, int], dict[str, int]]  # open by severity, breaches, follow-ups


def read_index(store: Any, targets: Targets, levels: Iterable[int], now: datetime) -> Read:
    """Open incidents by severity now, breaches by `target:severity` (the report's test), follow-ups open and
    overdue, from the index."""
    opened = {str(level): 0 for level in levels}
    c = incidents.c
    unresolved = (c.resolved_at.is_(None), c.started_at.is_not(None), *conditions(Scope(include_drills=False)))
    query = sa.select(c.severity, sa.func.count()).where(*unresolved).group_by(c.severity)
    with store.engine.connect() as conn:
        for severity, count in conn.execute(query):
            opened[NONE_KEY if severity is None else str(severity)] = int(count)
    # Every series a breach can fall in (a severity with that target), so a series at zero is listed too.
    counted = {
        f"{name}:{level}": 0
        for level, wanted in targets.items()
        for name, setting in TARGETS.items()
        if setting in wanted
    }
    for row in measured(store.engine, Scope(include_drills=False), now):
        for name, breached in breaches(row, targets).items():
            if breached:
                series = f"{name}:{row.highest_severity}"
                counted[series] = counted.get(series, 0) + 1
    still_open, overdue = follow_up_counts(store.engine, now.date())
    return opened, counted, {"open": still_open, "overdue": overdue}


class IndexCollector:
    """The index's gauges and breach counters for a Prometheus registry (see the module docstring)."""

    def __init__(
        self,
        opener: Callable[[], Any],
        targets: Targets,
        levels: Iterable[int],
        connection: Redis | None,
        queue_name: str,
        *,
        seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.opener, self.targets, self.levels = opener, targets, sorted(levels)
        self.connection, self.seconds, self.clock, self.now = connection, seconds, clock, now
        # figures, lock (the cache), breaches (the counters' state)
        self.keys = {part: Keys.of_queue(queue_name).index_metrics(part) for part in ("figures", "lock", "breaches")}
        self.queue_name = queue_name
        self._store: Any = None
        self._local: tuple[float, Figures] | None = None  # Redis down: this process's own cache
        self._lock = threading.Lock()  # the worker's metrics server answers from threads
        self._failing = False

    def collect(self) -> Iterator[Any]:
        """`incident_bot_index_up`, then the open gauges and the breach counters when the index was read."""
        # Imported here: see service.metrics' docstring (the multiprocess choice happens on import).
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        if self.connection is not None:
            try:  # a Redis set: read even when the index itself is down
                behind = pending.count(self.connection, self.queue_name)
            except RedisError:
                behind = None
            if behind is not None:
                waiting = GaugeMetricFamily(
                    "incident_bot_index_catchups_pending",
                    "Issues whose index write failed, waiting to be reindexed from GitLab by a worker",
                )
                waiting.add_metric([], behind)
                yield waiting
        figures = self.figures()
        up = GaugeMetricFamily("incident_bot_index_up", "1 when the incident index answered its last read")
        up.add_metric([], 1 if figures.up else 0)
        yield up
        if not figures.up:
            return
        opened = GaugeMetricFamily(
            "incident_bot_open_incidents",
            "Incidents not resolved, drills left out, by severity now",
            labels=["severity"],
        )
        for severity, count in sorted(figures.open.items()):
            opened.add_metric([severity], count)
        yield opened
        yield from _follow_ups(figures.follow_ups)
        if figures.breaches is None:
            return
        counter = CounterMetricFamily(
            "incident_bot_breaches",
            "Targets breached (the report's definition) by incidents in the index, by target and highest severity; "
            "only its increases are added, so the counter never goes down",
            labels=["target", "severity"],
        )
        for series, total in sorted(figures.breaches.items()):
            counter.add_metric(series.split(":", 1), total)
        yield counter

    def figures(self) -> Figures:
        """The figures to serve: stored by the process that read the index last, or read now."""
        with self._lock:
            try:
                return self._shared()
            except RedisError:
                return self._alone()

    def _shared(self) -> Figures:
        if self.connection is None:
            raise RedisError("no Redis")
        conn, keys = self.connection, self.keys
        if not conn.set(keys["lock"], "1", nx=True, ex=max(1, math.ceil(self.seconds))):
            raw = conn.get(keys["figures"])
            if raw is not None:
                try:
                    return Figures.load(raw)
                except (ValueError, TypeError, AttributeError):
                    pass  # not what this module stores: read the index again
        read = self._read()
        if read is None:
            conn.set(keys["figures"], json.dumps({"up": 0}))
            return DOWN
        opened, counted, tracked = read
        pairs = [str(x) for series in sorted(counted.items()) for x in series]
        gauges = json.dumps({"open": opened, "follow_ups": tracked})
        stored = conn.eval(ADVANCE, 2, keys["breaches"], keys["figures"], gauges, *pairs)
        return Figures.load(stored)

    def _alone(self) -> Figures:
        if self._local is not None and self.clock() - self._local[0] < self.seconds:
            return self._local[1]
        read = self._read()
        figures = DOWN if read is None else Figures(True, read[0], follow_ups=read[2])
        self._local = (self.clock(), figures)
        return figures

    def _read(self) -> Read | None:
        """Read the index; None when it cannot be opened or read (logged once until it answers again)."""
        try:
            if self._store is None:
                self._store = self.opener()
            found = read_index(self._store, self.targets, self.levels, self.now())
        except Exception as exc:  # noqa: BLE001 - a scrape never fails for the index: index_up 0 says it
            if not self._failing:
                log.warning("incident index not read for /metrics: %s: %s", type(exc).__name__, str(exc)[:200])
            self._failing, self._store = True, None
            return None
        self._failing = False
        return found


def _follow_ups(tracked: dict[str, int] | None) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    if tracked is None:
        return
    said = (("open", "Follow-ups (corrective actions) open"), ("overdue", "Open follow-ups due today or before (UTC)"))
    for name, what in said:
        family = GaugeMetricFamily(f"incident_bot_follow_ups_{name}", what + ", from the incident index")
        family.add_metric([], tracked.get(name, 0))
        yield family


def index_collector(
    rules: Any, connection: Redis | None, queue_name: str, opener: Callable[[], Any] | None = None
) -> IndexCollector:
    """The collector for `/metrics` with the rules' targets and severities, over the index `open_store` opens."""
    if opener is None:
        # Imported here: the store (SQLAlchemy) loads when the collector is made, not with the reports package.
        from service.store import open_store

        opener = open_store
    return IndexCollector(opener, targets_from_rules(rules), rules.severities, connection, queue_name)
