"""Checklist progress per phase: counted from the bot's checklist notes, kept in the index, read by the incident page.

The worker reads the current phase's checklist note at every delivery (so the previous phase's
final state is read when the phase changes), and a person ticking items edits the bot's note,
which GitLab delivers as a note update: both are counted here, the newest reading wins.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..text import checklist_items
from .model import Progress
from .schema import checklists

_MARKER = re.compile(r"<!-- incident-bot:checklist (\S+) -->")


def count(body: str) -> list[Progress]:
    """Each phase's checklist in a note body (a note may hold several): ticked and total items."""
    found = []
    for match in _MARKER.finditer(body):
        rest = body[match.end() :].lstrip("\r\n")
        ticked = len(checklist_items(rest, ticked=True))
        found.append(Progress(match.group(1)[:64], ticked, ticked + len(checklist_items(rest, ticked=False))))
    return found


def progress(engine: Engine, incident_id: int) -> list[Progress]:
    """An incident's checklist progress, phases in the order their checklists were first read."""
    c = checklists.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(c.phase, c.ticked, c.total).where(c.incident_id == incident_id)).all()
    return [Progress(r.phase, r.ticked, r.total) for r in rows]
