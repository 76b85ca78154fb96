"""What reports read: per incident the minutes from its start to each documented time.

The database hands over each time as whole seconds since the epoch (an integer: 10,000 incidents
are read in one query without a datetime object per cell, the report's cost), and the minutes are
computed here from those integers. So SQLite and PostgreSQL give the same figures to the last digit:
differences of their own (julianday's floating days, an interval's microseconds) tipped a rounding
to two decimals one way on one backend and the other way on the other (240.0 against 240.01).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .model import ALERT_MARK, utc
from .query import Scope, conditions
from .schema import incidents


class Measured(NamedTuple):
    """One incident as a report sees it (minutes from its start; None: not reached)."""

    project_id: int
    project_path: str
    iid: int
    title: str
    url: str
    confidential: bool
    category: str | None
    area: str | None
    highest_severity: int | None
    phase: str | None
    month: str | None  # YYYY-MM of the start, UTC
    tta: float | None
    ttm: float | None
    ttr: float | None
    age: float  # minutes from the start to the report's `now`
    review_url: str | None
    review_state: str | None
    from_alert: bool = False  # opened by the bot from an alert group (its description's marker)


def _seconds(dialect: str, column: Any) -> Any:
    """The time as whole seconds since the epoch, the fraction dropped, the same way on both backends."""
    if dialect == "sqlite":
        return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)
    return sa.cast(sa.func.floor(sa.extract("epoch", column)), sa.BigInteger)


def minutes(since: int | None, until: int | None) -> float | None:
    """Minutes between two whole-second times, to two decimals; None when either is missing."""
    if since is None or until is None:
        return None
    return round((until - since) / 60, 2)


def _month(dialect: str, column: Any) -> Any:
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", column)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")


def measured(engine: Engine, scope: Scope, now: datetime) -> Iterator[Measured]:
    """The incidents in scope that have a start, oldest first, measured."""
    d, c = engine.dialect.name, incidents.c
    now_seconds = math.floor(utc(now).timestamp())  # type: ignore[union-attr]
    query = (
        sa.select(
            c.project_id,
            c.project_path,
            c.iid,
            c.title,
            c.url,
            c.confidential,
            c.category,
            c.area,
            c.highest_severity,
            c.phase,
            _month(d, c.started_at),
            _seconds(d, c.started_at),
            _seconds(d, c.acknowledged_at),
            _seconds(d, c.mitigated_at),
            _seconds(d, c.resolved_at),
            c.review_url,
            c.review_state,
            c.description.contains(ALERT_MARK, autoescape=True),
        )
        .where(c.started_at.is_not(None), *conditions(scope))
        .order_by(c.started_at, c.project_id, c.iid)
    )
    with engine.connect() as conn:
        for row in conn.execute(query):
            start, acknowledged, mitigated, resolved = row[11:15]
            times = [minutes(start, at) for at in (acknowledged, mitigated, resolved, now_seconds)]
            yield Measured._make([*row[:11], *times, row[15], row[16], bool(row[17])])
