"""The statements the store runs, built once per engine, and how their rows become timeline events again.

A delivery pays for executing these, not for building and compiling them. The upsert that records a
delivery also hands back the incident's timeline as it was (one JSON array), so the times are derived
without reading the timeline back in another round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .model import EventKind, Source, TimelineEvent, utc
from .schema import checklists, incidents, timeline_events

# Facts an observation may leave unknown (None): the index keeps what it already knew.
KEEP_WHEN_UNKNOWN = ("author", "author_id", "created_at", "review_url", "review_state")
VALUE_CHARS = 1024  # timeline_events.value_to
# Columns the store derives from the timeline (never written from an observation).
DERIVED = (
    "started_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "highest_severity",
    "last_status_update_at",
)


class Statements:
    """The store's writing statements for one dialect (PostgreSQL or SQLite)."""

    def __init__(self, postgres: bool):
        insert = postgresql.insert if postgres else sqlite.insert
        timeline = _timeline_json(postgres)
        # (keep the known project path, hand back the timeline): note hooks may omit the path; reindex
        # replaces the timeline and has no use for the old one.
        self.upserts = {
            (keep_path, read): _upsert(insert, keep_path=keep_path, timeline=timeline if read else None)
            for keep_path in (False, True)
            for read in (False, True)
        }
        # inline(): no RETURNING of the new ids (SQLAlchemy would add one for a single row), so these two
        # can go down PostgreSQL's pipeline with the commit.
        self.insert_events = insert(timeline_events).inline().on_conflict_do_nothing()
        progress = insert(checklists).inline()
        self.set_checklists = progress.on_conflict_do_update(
            index_elements=["incident_id", "phase"],
            set_={name: progress.excluded[name] for name in ("ticked", "total", "read_at")},
        )
        self.forget = incidents.delete().where(
            incidents.c.project_id == sa.bindparam("project_id"), incidents.c.iid == sa.bindparam("iid")
        )
        self.drop_events = timeline_events.delete().where(timeline_events.c.incident_id == sa.bindparam("incident"))
        self.set_times = (
            incidents.update()
            .where(incidents.c.id == sa.bindparam("incident"))
            .values({name: sa.bindparam(name) for name in DERIVED})
        )


def _upsert(insert: Any, *, keep_path: bool, timeline: Any) -> Any:
    """INSERT ... ON CONFLICT (project_id, iid) DO UPDATE, returning what the derivation needs (and the timeline)."""
    stmt = insert(incidents)
    names = [c.name for c in incidents.columns if c.name not in ("id", "project_id", "iid", *DERIVED)]
    update: dict[str, Any] = {name: stmt.excluded[name] for name in names}
    for name in KEEP_WHEN_UNKNOWN:
        update[name] = sa.func.coalesce(stmt.excluded[name], incidents.c[name])
    if keep_path:
        update["project_path"] = incidents.c.project_path
    stmt = stmt.on_conflict_do_update(index_elements=["project_id", "iid"], set_=update)
    c = incidents.c
    derived = [c[name] for name in DERIVED]
    extra = [] if timeline is None else [timeline]
    return stmt.returning(
        c.id, c.created_at, c.issue_type, c.author_id, c.author, c.severity, c.state, c.phase, *derived, *extra
    )


def _timeline_json(postgres: bool) -> Any:
    """The incident's timeline events as one JSON array, as a RETURNING column of the upsert.

    The subquery sees the timeline as it was before this statement, which is what the
    derivation adds the delivery's new events to. It names the upserted row as `incidents.id`
    (SQLAlchemy would add `incidents` to the subquery's FROM instead of correlating it in RETURNING).
    """
    t = timeline_events.c
    fields = (t.at, t.kind, t.name, t.value_from, t.value_to, t.actor, t.actor_id, t.by_bot)
    if postgres:
        events = sa.func.json_agg(sa.func.json_build_array(*fields), type_=sa.JSON)
    else:
        events = sa.func.json_group_array(sa.func.json_array(*fields), type_=sa.JSON)
    upserted: sa.ColumnClause[Any] = sa.literal_column("incidents.id")
    return sa.select(events).where(t.incident_id == upserted).scalar_subquery().label("timeline")


def event_of_json(item: list[Any]) -> TimelineEvent:
    """One element of the upsert's `timeline` (a time as ISO text in the session's zone: PostgreSQL; UTC: SQLite)."""
    at, kind, name, value_from, value_to, actor, actor_id, by_bot = item
    return TimelineEvent(
        utc(datetime.fromisoformat(at)),  # type: ignore[arg-type]
        EventKind(kind),
        name,
        value_from,
        value_to,
        actor,
        actor_id,
        bool(by_bot),
    )


def new_events(events: Iterable[TimelineEvent], known: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    """The events not in the timeline yet, as stored (UTC, the value cut to its column), each once."""
    keys = {e.key() for e in known}
    new = []
    for event in events:
        stored = replace(event, at=utc(event.at) or event.at, value_to=event.value_to[:VALUE_CHARS])
        if stored.key() not in keys:
            keys.add(stored.key())
            new.append(stored)
    return new


def events_query(incident_id: Any) -> Any:
    t = timeline_events.c
    return (
        sa.select(t.at, t.kind, t.name, t.value_from, t.value_to, t.actor, t.actor_id, t.by_bot)
        .where(t.incident_id == incident_id)
        .order_by(timeline_events.c.at, timeline_events.c.id)
    )


def event_of_row(row: Any) -> TimelineEvent:
    at = utc(row.at)
    assert at is not None
    return TimelineEvent(
        at=at,
        kind=EventKind(row.kind),
        name=row.name,
        value_from=row.value_from,
        value_to=row.value_to,
        actor=row.actor,
        actor_id=row.actor_id,
        by_bot=bool(row.by_bot),
    )


def event_rows(incident_id: int, events: Iterable[TimelineEvent], source: Source) -> list[dict[str, Any]]:
    """The rows of `timeline_events` for these events of one incident."""
    return [
        {
            "incident_id": incident_id,
            "at": utc(e.at),
            "kind": str(e.kind),
            "name": e.name,
            "value_from": e.value_from,
            "value_to": e.value_to[:VALUE_CHARS],
            "actor": e.actor,
            "actor_id": e.actor_id,
            "by_bot": e.by_bot,
            "source": str(source),
        }
        for e in events
    ]
