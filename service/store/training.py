"""The training record: who held which role in which drill, written when a drill closes.

A participant is anyone who held a role in the drill: staffed into it, handed it, or handing
it off (the timeline's `role` events, which the index keeps from the bot's memory of who is
staffed), and whoever holds it at the close. One row per drill, person and role: a drill
closed twice (reopened) updates its rows rather than adding more. `report --training` and
the staffing note (`require_training_days`) read it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ..text import is_username
from .model import EventKind, TimelineEvent, utc
from .schema import training_records

UPDATED = ("project_path", "scenario", "started_at", "closed_at", "recorded_at")


@dataclass(frozen=True)
class TrainingRecord:
    """One person having held one role in one drill."""

    project_id: int
    project_path: str
    iid: int
    scenario: str
    username: str
    role: str
    started_at: datetime | None
    closed_at: datetime
    recorded_at: datetime

    @property
    def ref(self) -> str:
        """`group/project#iid` (the project id when its path is unknown)."""
        return f"{self.project_path or self.project_id}#{self.iid}"


def participants(events: Iterable[TimelineEvent], roles_now: Mapping[str, str]) -> list[tuple[str, str]]:
    """(role, username) of everyone who held a role, in the order they first held it; valid usernames only."""
    found: dict[tuple[str, str], None] = {}
    for e in sorted(events, key=lambda e: (e.at, e.key())):
        if e.kind is EventKind.ROLE and e.name:
            for user in (e.value_from, e.value_to):
                if is_username(user):
                    found[(e.name[:64], user[:255])] = None
    for role, user in roles_now.items():
        if role and is_username(user):
            found[(role[:64], user[:255])] = None
    return list(found)


def record(engine: Engine, records: Iterable[TrainingRecord]) -> int:
    """Write these records (a drill's person and role already there: its times and scenario updated); how many."""
    rows = [
        {
            "project_id": r.project_id,
            "project_path": r.project_path[:255],
            "iid": r.iid,
            "scenario": r.scenario[:64],
            "username": r.username[:255],
            "role": r.role[:64],
            "started_at": utc(r.started_at),
            "closed_at": utc(r.closed_at),
            "recorded_at": utc(r.recorded_at),
        }
        for r in records
    ]
    if not rows:
        return 0
    insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(training_records)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "iid", "username", "role"],
        set_={name: stmt.excluded[name] for name in UPDATED},
    )
    with engine.begin() as conn:
        for row in rows:  # one statement per row: an upsert's excluded values are per row on both backends
            conn.execute(stmt, row)
    return len(rows)


def last_practised(engine: Engine, username: str, role: str) -> datetime | None:
    """When `username` last held `role` in a drill (the drill's close), or None: never."""
    c = training_records.c
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.max(c.closed_at)).where(c.username == username, c.role == role)
        ).scalar_one_or_none()
    return utc(found)


def records(engine: Engine, *, project_id: int | None = None, iid: int | None = None) -> list[TrainingRecord]:
    """Training records, oldest close first (one drill's when `project_id` and `iid` are given)."""
    c = training_records.c
    query = sa.select(training_records)
    if project_id is not None:
        query = query.where(c.project_id == project_id)
    if iid is not None:
        query = query.where(c.iid == iid)
    query = query.order_by(c.closed_at, c.project_id, c.iid, c.id)
    with engine.connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def _record(row: Any) -> TrainingRecord:
    closed, recorded = utc(row.closed_at), utc(row.recorded_at)
    assert closed is not None and recorded is not None  # NOT NULL columns
    return TrainingRecord(
        project_id=row.project_id,
        project_path=row.project_path,
        iid=row.iid,
        scenario=row.scenario,
        username=row.username,
        role=row.role,
        started_at=utc(row.started_at),
        closed_at=closed,
        recorded_at=recorded,
    )
