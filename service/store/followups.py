"""What the worker's follow-ups did, in the index: notifications sent (each attempt), the next reminder due.

Written by the notification job and the reminder schedule, read by the incident page; like the rest of
the index it is derived (losing it loses history of sends, not incidents), so writers log, never fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .model import utc
from .schema import notifications, reminders


class Sent(NamedTuple):
    """One attempt to send one notification to one channel."""

    channel: str
    kind: str
    at: datetime
    ok: bool
    reason: str
    attempt: int


class Pending(NamedTuple):
    """The next status-update reminder of an incident: when, whom it names (roles), its number in the series."""

    due_at: datetime
    roles: tuple[str, ...]
    number: int


def record_sent(engine: Engine, project: str, iid: int, sent: Sent) -> None:
    """Add one send attempt of a notification about incident `project`#`iid`."""
    with engine.begin() as conn:
        conn.execute(
            notifications.insert().values(
                project=project[:255],
                iid=iid,
                channel=sent.channel[:64],
                kind=sent.kind[:32],
                at=utc(sent.at),
                ok=sent.ok,
                reason=sent.reason[:1024],
                attempt=sent.attempt,
            )
        )


def sent(engine: Engine, projects: Sequence[str], iid: int, limit: int = 200) -> list[Sent]:
    """The notifications about an incident (named by its path or id), oldest first, at most `limit`."""
    c = notifications.c
    query = sa.select(c.channel, c.kind, c.at, c.ok, c.reason, c.attempt).where(c.project.in_(projects), c.iid == iid)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(c.at.desc(), c.id.desc()).limit(limit)).all()
    return [Sent(r.channel, r.kind, utc(r.at), bool(r.ok), r.reason, r.attempt) for r in reversed(rows)]  # type: ignore[arg-type]


def set_pending(engine: Engine, project_id: int, iid: int, pending: Pending | None) -> None:
    """Make `pending` the incident's next reminder (None: no reminder pending)."""
    c = reminders.c
    with engine.begin() as conn:
        conn.execute(reminders.delete().where(c.project_id == project_id, c.iid == iid))
        if pending is not None:
            conn.execute(
                reminders.insert().values(
                    project_id=project_id,
                    iid=iid,
                    due_at=utc(pending.due_at),
                    roles=list(pending.roles),
                    number=pending.number,
                )
            )


def pending(engine: Engine, project_id: int, iid: int) -> Pending | None:
    """The incident's next reminder, or None."""
    c = reminders.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(c.due_at, c.roles, c.number).where(c.project_id == project_id, c.iid == iid)
        ).one_or_none()
    return Pending(utc(row.due_at), tuple(row.roles), row.number) if row is not None else None  # type: ignore[arg-type]
