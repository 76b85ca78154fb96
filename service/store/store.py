"""The incident index: record observations, rebuild an incident, and read incidents back for reports and pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from . import checklists
from .model import EventKind, Observation, Source, TimelineEvent, utc
from .query import IncidentRow, Scope, conditions
from .schema import incidents, timeline_events
from .timeline import derive
from .vocabulary import POST_INCIDENT, Vocabulary

# Facts an observation may leave unknown (None): the index keeps what it already knew.
KEEP_WHEN_UNKNOWN = ("author", "author_id", "created_at", "review_url", "review_state")
# Columns the store derives from the timeline (never written from an observation).
DERIVED = (
    "started_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "highest_severity",
    "last_status_update_at",
)


class Store:
    """The incident index over one SQLAlchemy engine (already migrated: see `open_store`)."""

    def __init__(self, engine: Engine, vocab: Vocabulary | None = None):
        self.engine = engine
        self.vocab = vocab or Vocabulary()
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # Statements built once: a delivery pays for executing them, not for building and compiling them.
        self._upsert_with_path = _upsert(insert, keep_path=False)
        self._upsert_keep_path = _upsert(insert, keep_path=True)
        self._insert_events = insert(timeline_events).on_conflict_do_nothing()
        self._events_of = _events_query(sa.bindparam("incident"))
        self._forget = incidents.delete().where(
            incidents.c.project_id == sa.bindparam("project_id"), incidents.c.iid == sa.bindparam("iid")
        )
        self._drop_events = timeline_events.delete().where(timeline_events.c.incident_id == sa.bindparam("incident"))
        self._set_times = (
            incidents.update()
            .where(incidents.c.id == sa.bindparam("incident"))
            .values({name: sa.bindparam(name) for name in DERIVED})
        )

    # Writing.
    def record(self, obs: Observation, source: Source = Source.DELIVERY) -> None:
        """Add what one delivery observed: facts now, new timeline events (replays add nothing), times re-derived."""
        with self.engine.begin() as conn:
            if not obs.is_incident:  # no longer an incident: as reindex would, the index forgets it
                conn.execute(self._forget, {"project_id": obs.project_id, "iid": obs.iid})
                return
            row = self._upsert(conn, obs)
            self._add_events(conn, row.id, obs.events, source)
            self._derive(conn, row)
            if obs.checklists:
                checklists.record(conn, row.id, obs.checklists, obs.observed_at)

    def rebuild(self, *observations: Observation, source: Source = Source.REINDEX) -> None:
        """Replace incidents' facts and whole timelines (reindex: GitLab's full history), in one transaction."""
        with self.engine.begin() as conn:
            for obs in observations:
                row = self._upsert(conn, obs)
                conn.execute(self._drop_events, {"incident": row.id})
                self._add_events(conn, row.id, obs.events, source)
                self._derive(conn, row, obs.events)  # the whole timeline is in hand: no need to read it back

    def _upsert(self, conn: Connection, obs: Observation) -> Any:
        values = {
            "project_id": obs.project_id,
            "project_path": obs.project_path,
            "iid": obs.iid,
            "title": obs.title,
            "description": obs.description,
            "url": obs.url,
            "confidential": obs.confidential,
            "drill": obs.drill,
            "issue_type": obs.issue_type,
            "category": obs.category,
            "area": obs.area,
            "severity": obs.severity,
            "phase": obs.phase,
            "state": obs.state,
            "author": obs.author,
            "author_id": obs.author_id,
            "roles": dict(obs.roles),
            "created_at": utc(obs.created_at),
            "review_url": obs.review_url,
            "review_state": obs.review_state,
            "updated_at": utc(obs.observed_at),
        }
        stmt = self._upsert_with_path if obs.project_path else self._upsert_keep_path  # note hooks may omit it
        return conn.execute(stmt, values).one()

    def _add_events(self, conn: Connection, incident_id: int, events: Iterable[TimelineEvent], source: Source) -> None:
        rows = [
            {
                "incident_id": incident_id,
                "at": utc(e.at),
                "kind": str(e.kind),
                "name": e.name,
                "value_from": e.value_from,
                "value_to": e.value_to[:1024],
                "actor": e.actor,
                "actor_id": e.actor_id,
                "by_bot": e.by_bot,
                "source": str(source),
            }
            for e in events
        ]
        if rows:
            conn.execute(self._insert_events, rows)

    def _derive(self, conn: Connection, row: Any, events: Iterable[TimelineEvent] | None = None) -> None:
        if events is None:
            events = [_event(r) for r in conn.execute(self._events_of, {"incident": row.id})]
        m = derive(
            events,
            self.vocab,
            created_at=utc(row.created_at),
            issue_type=row.issue_type,
            author_id=row.author_id,
            author=row.author,
            severity_now=row.severity,
            open_now=row.state == "opened" and row.phase != POST_INCIDENT,
        )
        times = {
            "started_at": m.start,
            "acknowledged_at": m.acknowledged,
            "mitigated_at": m.mitigated,
            "resolved_at": m.resolved,
            "highest_severity": m.highest_severity,
            "last_status_update_at": m.last_status_update,
        }
        known = {name: getattr(row, name) for name in DERIVED}
        known = {k: utc(v) if isinstance(v, datetime) else v for k, v in known.items()}
        if known != times:  # most deliveries move no documented time: skip the write
            conn.execute(self._set_times, {"incident": row.id, **times})

    def prune(self, scope: Scope, keep: Iterable[tuple[int, int]]) -> int:
        """Forget the incidents in scope that GitLab no longer lists (`keep`: (project_id, iid)); how many."""
        wanted = set(keep)
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.select(incidents.c.id, incidents.c.project_id, incidents.c.iid).where(*conditions(scope))
            )
            gone = [row.id for row in found if (row.project_id, row.iid) not in wanted]
            for start in range(0, len(gone), 500):
                conn.execute(incidents.delete().where(incidents.c.id.in_(gone[start : start + 500])))
        return len(gone)

    def set_review_state(self, project_id: int, iid: int, state: str) -> None:
        """Record the review issue's state (opened|closed), learned outside a delivery of the incident."""
        with self.engine.begin() as conn:
            conn.execute(
                incidents.update()
                .where(incidents.c.project_id == project_id, incidents.c.iid == iid)
                .values(review_state=state)
            )

    # Reading.
    def incident(self, project_id: int, iid: int) -> IncidentRow | None:
        """One incident, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(incidents).where(incidents.c.project_id == project_id, incidents.c.iid == iid)
            ).one_or_none()
        return IncidentRow.from_row(row) if row is not None else None

    def timeline(self, project_id: int, iid: int) -> list[TimelineEvent]:
        """An incident's timeline events, oldest first."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(incidents.c.id).where(incidents.c.project_id == project_id, incidents.c.iid == iid)
            ).scalar_one_or_none()
            if found is None:
                return []
            return [_event(r) for r in conn.execute(_events_query(found))]

    def incidents(self, scope: Scope | None = None) -> list[IncidentRow]:
        """The incidents in scope, oldest start first."""
        return list(self.iter_incidents(scope))

    def iter_incidents(self, scope: Scope | None = None) -> Iterator[IncidentRow]:
        """The incidents in scope, oldest start first, streamed."""
        query = sa.select(incidents).where(*conditions(scope or Scope()))
        query = query.order_by(incidents.c.started_at, incidents.c.project_id, incidents.c.iid)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield IncidentRow.from_row(row)

    def count(self) -> int:
        """How many incidents the index holds (drills included)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(incidents)).scalar_one())


def _upsert(insert: Any, *, keep_path: bool) -> Any:
    """INSERT ... ON CONFLICT (project_id, iid) DO UPDATE, returning what the derivation needs."""
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
    return stmt.returning(
        c.id, c.created_at, c.issue_type, c.author_id, c.author, c.severity, c.state, c.phase, *derived
    )


def _events_query(incident_id: Any) -> Any:
    t = timeline_events.c
    return (
        sa.select(t.at, t.kind, t.name, t.value_from, t.value_to, t.actor, t.actor_id, t.by_bot)
        .where(t.incident_id == incident_id)
        .order_by(timeline_events.c.at, timeline_events.c.id)
    )


def _event(row: Any) -> TimelineEvent:
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
