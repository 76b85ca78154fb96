"""The training record: who held which role in which drill, written when a drill closes.

A participant is anyone who held a role in the drill: staffed into it, handed it, or handing
it off (the timeline's `role` events, which the index keeps from the bot's memory of who is
staffed), and whoever holds it at the close. One row per drill, person and role: a drill
closed twice (reopened) updates its rows rather than adding more. `report --training` and
the staffing note (`require_training_days`) read it back. `reindex` writes the same rows from
GitLab's history (`rebuild`), so a drill closed while the worker's index was down is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ..rules.drills import scenario_of
from ..text import is_username
from .model import EventKind, Observation, TimelineEvent, utc
from .schema import incidents, training_records

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


def held_at_close(
    events: Iterable[TimelineEvent], roles_now: Mapping[str, str]
) -> tuple[datetime | None, list[tuple[str, str]]]:
    """When the drill last closed (None: never) and `participants` as of that close.

    At the closing delivery nothing follows the close. Read later (reindex), a reopened
    drill may have moved on: what follows its last close counts at its next close, so those
    events are left out and their role changes undone from `roles_now`.
    """
    ordered = sorted(events, key=lambda e: (e.at, e.key()))
    closes = [e.at for e in ordered if e.kind == EventKind.STATE and e.value_to == "closed"]
    if not closes:
        return None, []
    closed = closes[-1]
    roles = dict(roles_now)
    for e in reversed(ordered):
        if e.at <= closed:
            break
        if e.kind == EventKind.ROLE and e.name:
            if e.value_from:
                roles[e.name] = e.value_from
            else:
                roles.pop(e.name, None)
    return closed, participants([e for e in ordered if e.at <= closed], roles)


def record(engine: Engine, records: Iterable[TrainingRecord]) -> int:
    """Write these records (a drill's person and role already there: its times and scenario updated); how many."""
    kept = list(records)
    if not kept:
        return 0
    with engine.begin() as conn:
        _upsert(conn, kept)
    return len(kept)


def rebuild(engine: Engine, observations: Iterable[Observation], *, recorded_at: datetime) -> int:
    """Reindex's side: each closed drill among these incidents, just rebuilt in the index, recorded again; how many.

    The same records the worker writes at the close (`held_at_close` over the same timeline and
    roles, the drill's start and path as the index now has them), so dropping the index and
    reindexing gives the same report. A rebuilt drill's rows are what its history bears out: a
    row for anyone else goes. Incidents that yield none (no drill, never closed) are left alone:
    practice outlives a drill issue, as it outlives the incident's row.
    """
    found = {}
    for obs in observations:
        if obs.drill:
            closed, held = held_at_close(obs.events, obs.roles)
            if closed is not None and held:
                found[(obs.project_id, obs.iid)] = (obs, closed, held)
    if not found:
        return 0  # most batches: no statement at all
    i = incidents.c
    written: list[TrainingRecord] = []
    with engine.begin() as conn:
        indexed = {
            (row.project_id, row.iid): row
            for row in conn.execute(
                sa.select(i.project_id, i.iid, i.project_path, i.started_at).where(
                    sa.tuple_(i.project_id, i.iid).in_(list(found))
                )
            )
        }
        for (pid, iid), (obs, closed, held) in found.items():
            row = indexed.get((pid, iid))
            path, started = (row.project_path, utc(row.started_at)) if row is not None else (obs.project_path, None)
            drill = (pid, path, iid, scenario_of(obs.description) or "")
            written += [TrainingRecord(*drill, user, role, started, closed, recorded_at) for role, user in held]
            c = training_records.c
            kept = [(user[:255], role[:64]) for role, user in held]
            conn.execute(
                training_records.delete().where(
                    c.project_id == pid, c.iid == iid, sa.tuple_(c.username, c.role).not_in(kept)
                )
            )
        _upsert(conn, written)
    return len(written)


def _upsert(conn: Connection, records: Iterable[TrainingRecord]) -> None:
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
    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(training_records)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "iid", "username", "role"],
        set_={name: stmt.excluded[name] for name in UPDATED},
    )
    for row in rows:  # one statement per row: an upsert's excluded values are per row on both backends
        conn.execute(stmt, row)


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
