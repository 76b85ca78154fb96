"""The board's last-30-days block: counts per severity and median TTA/TTM/TTR against targets (the report's)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.durations import human_duration
from service.reports.figures import GroupBy, Targets, report_from_store
from service.rules import RuleSet
from service.store import Store

WINDOW_DAYS = 30
# The 30-day figures and the trend move slowly: recomputed at most this often (the board's active
# list, read on every request, is what shows a new incident within seconds).
FRESH_SECONDS = 30.0
TIMES = (("tta", "acknowledge_minutes"), ("ttm", "mitigate_minutes"), ("ttr", "resolve_minutes"))


@dataclass(frozen=True)
class Month:
    """What the block shows."""

    incidents: int
    unresolved: int
    rows: list[dict[str, Any]]


def month(store: Store, rules: RuleSet, targets: Targets, now: datetime) -> Month:
    """The report over incidents started in the last 30 days (drills excluded), by highest severity."""
    report = report_from_store(
        store, start=now - timedelta(days=WINDOW_DAYS), end=now, by=GroupBy.SEVERITY, targets=targets, now=now
    )
    rows = []
    for level in sorted(rules.severities):
        group = report.groups.get(str(level))
        wanted = targets.get(level, {})
        cells = []
        for attr, target in TIMES:
            median = getattr(group, attr).median if group else None
            limit = wanted.get(target)
            cells.append(
                {
                    "median": human_duration(median),
                    "target": human_duration(limit, missing=""),
                    "over": median is not None and limit is not None and median > limit,
                }
            )
        rows.append(
            {"level": level, "name": rules.severities[level].name, "count": group.count if group else 0, "cells": cells}
        )
    return Month(report.incidents, report.open, rows)


class Cached:
    """One value, recomputed after FRESH_SECONDS.

    The 30-day figures and the chart read a few hundred rows each (and a scan of the index);
    every viewer's refresh every few seconds would otherwise recompute the same answer.
    """

    def __init__(self, compute: Callable[[], Any], seconds: float = FRESH_SECONDS):
        self.compute = compute
        self.seconds = seconds
        self._value: Any = None
        self._at: float | None = None

    def get(self) -> Any:
        """The value, recomputed if older than `seconds`."""
        if self._at is None or time.monotonic() - self._at > self.seconds:
            self._value, self._at = self.compute(), time.monotonic()
        return self._value
