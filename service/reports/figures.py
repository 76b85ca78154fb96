"""The report's figures from the index: counts, TTA/TTM/TTR median and p90, breaches, open incidents, reviews.

Uses only the documented times (start, acknowledged, mitigated, resolved) stored by the
index; drills are excluded; an incident counts under the highest severity it reached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from service.store import Scope, Store
from service.store.measure import Measured, measured
from service.store.pages import page_rows

from .paging import RotationPages, pages_by_rotation

NONE_KEY = "none"
LONGEST = 5
# Target names in the rules (`targets:` of a severity) and the milestone each one measures.
TARGETS = {"acknowledge": "acknowledge_minutes", "mitigate": "mitigate_minutes", "resolve": "resolve_minutes"}

Targets = Mapping[int, Mapping[str, float]]  # severity level -> {"acknowledge_minutes": 15, ...}


class GroupBy(StrEnum):
    """How incidents are grouped."""

    SEVERITY = "severity"
    CATEGORY = "category"
    AREA = "area"
    MONTH = "month"
    SOURCE = "source"  # alert (opened from an alert group) or person (declared in GitLab)


@dataclass(frozen=True)
class Spread:
    """Median and p90 (nearest rank) of one time, in minutes; None when no incident has that time."""

    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Group:
    """The figures of one group of incidents."""

    key: str
    count: int
    tta: Spread
    ttm: Spread
    ttr: Spread
    breaches: dict[str, int]


@dataclass(frozen=True)
class Listed:
    """An incident named in the report (open, or among the longest); `minutes` is its age or duration."""

    row: Measured
    minutes: float
    resolved: bool


@dataclass(frozen=True)
class Report:
    """Everything the report shows, before formatting."""

    start: datetime
    end: datetime
    by: GroupBy
    incidents: int
    open: int
    groups: dict[str, Group]
    open_incidents: list[Listed] = field(default_factory=list)
    reviews_opened: int = 0
    reviews_open: int = 0
    longest: list[Listed] = field(default_factory=list)
    pages: dict[str, RotationPages] = field(default_factory=dict)  # per rotation (reports.paging)


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `percent`% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Iterable[float | None]) -> Spread:
    """Median and p90 of the values that exist."""
    present = [v for v in values if v is not None]
    return Spread(nearest_rank(present, 50), nearest_rank(present, 90))


def _key(row: Measured, by: GroupBy) -> str:
    if by is GroupBy.SEVERITY:
        return str(row.highest_severity) if row.highest_severity is not None else NONE_KEY
    if by is GroupBy.SOURCE:
        return "alert" if row.from_alert else "person"
    if by is GroupBy.MONTH:
        return row.month or NONE_KEY
    value = row.category if by is GroupBy.CATEGORY else row.area
    return value or NONE_KEY


def breaches(row: Measured, targets: Targets) -> dict[str, bool]:
    """Which targets this incident breached: its time over the target, or, unresolved, already past it."""
    wanted = targets.get(row.highest_severity, {}) if row.highest_severity is not None else {}
    took = {"acknowledge": row.tta, "mitigate": row.ttm, "resolve": row.ttr}
    out = {}
    for name, setting in TARGETS.items():
        limit = wanted.get(setting)
        spent = took[name]
        if spent is None and row.ttr is None:
            spent = row.age  # unresolved and not there yet: how long it has been
        out[name] = limit is not None and spent is not None and spent > float(limit)
    return out


def _group(key: str, rows: list[Measured], targets: Targets) -> Group:
    counted = {name: 0 for name in TARGETS}
    for row in rows:
        for name, breached in breaches(row, targets).items():
            counted[name] += int(breached)
    return Group(
        key=key,
        count=len(rows),
        tta=spread(r.tta for r in rows),
        ttm=spread(r.ttm for r in rows),
        ttr=spread(r.ttr for r in rows),
        breaches=counted,
    )


def _order(key: str) -> tuple[int, str]:
    return (1, key) if key == NONE_KEY else (0, key.zfill(8) if key.isdigit() else key)


def build_report(rows: Iterable[Measured], *, start: datetime, end: datetime, by: GroupBy, targets: Targets) -> Report:
    """The report over measured incidents (already those that started in [start, end), drills left out)."""
    kept = list(rows)
    grouped: dict[str, list[Measured]] = {}
    for row in kept:
        grouped.setdefault(_key(row, by), []).append(row)
    groups = {k: _group(k, grouped[k], targets) for k in sorted(grouped, key=_order)}
    unresolved = [r for r in kept if r.ttr is None]
    durations = [Listed(r, r.ttr if r.ttr is not None else r.age, r.ttr is not None) for r in kept]
    reviewed = [r for r in kept if r.review_url]
    return Report(
        start=start,
        end=end,
        by=by,
        incidents=len(kept),
        open=len(unresolved),
        groups=groups,
        open_incidents=sorted((Listed(r, r.age, False) for r in unresolved), key=lambda x: -x.minutes),
        reviews_opened=len(reviewed),
        reviews_open=sum(1 for r in reviewed if r.review_state != "closed"),
        longest=sorted(durations, key=lambda x: -x.minutes)[:LONGEST],
    )


def report_from_store(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    by: GroupBy,
    targets: Targets,
    now: datetime,
    project: str | None = None,
    group: str | None = None,
) -> Report:
    """The report read from the index: one query over the incidents that started in the window, drills left out."""
    scope = Scope(project=project, group=group, started_from=start, started_to=end, include_drills=False)
    report = build_report(measured(store.engine, scope, now), start=start, end=end, by=by, targets=targets)
    return replace(report, pages=pages_by_rotation(page_rows(store.engine, scope)))
