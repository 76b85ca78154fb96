"""The incident index: record observations, rebuild an incident, and read incidents back for reports and pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .model import Observation, Source, TimelineEvent, utc
from .query import IncidentRow, Scope, conditions
from .schema import incidents
from .statements import DERIVED, Statements, event_of_json, event_of_row, event_rows, events_query, new_events
from .timeline import derive
from .vocabulary import POST_INCIDENT, Vocabulary


class Store:
    """The incident index over one SQLAlchemy engine (already migrated: see `open_store`)."""

    def __init__(self, engine: Engine, vocab: Vocabulary | None = None):
        self.engine = engine
        self.vocab = vocab or Vocabulary()
        self._postgres = engine.dialect.name == "postgresql"
        self._sql = Statements(self._postgres)

    # Writing.
    def record(self, obs: Observation, source: Source = Source.DELIVERY) -> None:
        """Add what one delivery observed: facts now, new timeline events (replays add nothing), times re-derived.

        Idempotent, so a connection the server closed since its last use (PostgreSQL restarted) is
        retried once on a new one.
        """
        try:
            self._record(obs, source)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._record(obs, source)

    def add_events(self, project_id: int, iid: int, events: Iterable[TimelineEvent]) -> bool:
        """Add timeline events the issue's hooks never show (an alert group resolved) to an incident the index
        has; replays add nothing. False when the index does not know the incident yet."""
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.select(incidents.c.id).where(incidents.c.project_id == project_id, incidents.c.iid == iid)
            ).one_or_none()
            if found is None:
                return False
            self._add_events(conn, found[0], events, Source.DELIVERY)
        return True

    def _record(self, obs: Observation, source: Source) -> None:
        # Three round trips on PostgreSQL (there were nine): BEGIN; the upsert, which hands back the facts, the
        # derived times and the timeline as they were; and one pipeline with what is left to write and the
        # commit. The upsert sees the timeline as of its start: deliveries of one issue are applied in order
        # (the queue), so no other record of this incident commits in between.
        with self.engine.connect() as conn, conn.begin() as transaction:
            if not obs.is_incident:  # no longer an incident: as reindex would, the index forgets it
                conn.execute(self._sql.forget, {"project_id": obs.project_id, "iid": obs.iid})
                return
            row = self._upsert(conn, obs, read_timeline=True)
            known = [event_of_json(item) for item in row.timeline or ()]
            new = new_events(obs.events, known)
            times = self._times(row, [*known, *new])
            with self._pipeline(conn):
                self._add_events(conn, row.id, new, source)
                if times is not None:
                    conn.execute(self._sql.set_times, {"incident": row.id, **times})
                if obs.checklists:  # one reading per phase, the last one read wins
                    at = utc(obs.observed_at)
                    readings = {p.phase: {"ticked": p.ticked, "total": p.total} for p in obs.checklists}
                    conn.execute(
                        self._sql.set_checklists,
                        [{"incident_id": row.id, "phase": k, "read_at": at, **v} for k, v in readings.items()],
                    )
                transaction.commit()

    def rebuild(self, *observations: Observation, source: Source = Source.REINDEX) -> None:
        """Replace incidents' facts and whole timelines (reindex: GitLab's full history), in one transaction."""
        with self.engine.begin() as conn:
            for obs in observations:
                row = self._upsert(conn, obs, read_timeline=False)
                conn.execute(self._sql.drop_events, {"incident": row.id})
                self._add_events(conn, row.id, obs.events, source)
                times = self._times(row, obs.events)  # the whole timeline is in hand
                if times is not None:
                    conn.execute(self._sql.set_times, {"incident": row.id, **times})

    def _pipeline(self, conn: Connection) -> AbstractContextManager[Any]:
        """PostgreSQL: the statements of the block (none reads a result) and its commit sent in one round trip."""
        return conn.connection.driver_connection.pipeline() if self._postgres else nullcontext()  # type: ignore[union-attr]

    def _upsert(self, conn: Connection, obs: Observation, *, read_timeline: bool) -> Any:
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
        stmt = self._sql.upserts[(not obs.project_path, read_timeline)]  # note hooks may omit the path: keep it
        return conn.execute(stmt, values).one()

    def _add_events(self, conn: Connection, incident_id: int, events: Iterable[TimelineEvent], source: Source) -> None:
        rows = event_rows(incident_id, events, source)
        if rows:
            conn.execute(self._sql.insert_events, rows)

    def _times(self, row: Any, events: Iterable[TimelineEvent]) -> dict[str, Any] | None:
        """The derived times from this whole timeline; None when they are the ones the row has."""
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
        return None if known == times else times  # most deliveries move no documented time: no write

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
            return [event_of_row(r) for r in conn.execute(events_query(found))]

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
