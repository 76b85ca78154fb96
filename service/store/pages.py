"""The people paged, as the index keeps them: a `page` timeline event per person and step, read from the page
records of the bot's memory (`handlers.paging`), the same on the delivery path (`observe`) and in `reindex`.

The board reads them for "paged, not acknowledged" (a page with a `page` event and no `page_ack`), the report for
the pages sent and acknowledged within target per rotation (`reports.paging`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from .model import EventKind, TimelineEvent, parse_time, utc
from .query import Scope, conditions
from .schema import incidents, timeline_events

MAX_NAME = 64  # timeline_events.name and value_from are bounded columns


def page_sends(memory: Mapping[str, Any]) -> list[TimelineEvent]:
    """One `page` event per person paged, per page record of the memory; malformed entries are skipped."""
    found = []
    pages = memory.get("pages")
    for page, record in pages.items() if isinstance(pages, dict) else ():
        sent = record.get("sent") if isinstance(record, dict) else None
        for entry in sent if isinstance(sent, list) else ():
            event = _event(str(page)[:MAX_NAME], entry)
            if event is not None:
                found.append(event)
    return found


def _event(page: str, entry: Any) -> TimelineEvent | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("person"), str) or not entry["person"]:
        return None
    at = parse_time(entry.get("at"))
    within = entry.get("within")
    if at is None or not isinstance(within, int | float) or isinstance(within, bool) or not math.isfinite(within):
        return None
    raw = entry.get("rotation")
    rotation = raw[:MAX_NAME] if isinstance(raw, str) else ""
    return TimelineEvent(at, EventKind.PAGE, page, rotation, f"{within:g}", entry["person"], None, True)


class PageRow(NamedTuple):
    """A `page` or `page_ack` event of an incident in a report's scope."""

    incident_id: int
    kind: EventKind
    page: str
    rotation: str  # of a `page`: the rotation that reached the person ("" for none)
    within: str  # of a `page`: the minutes the person had to acknowledge
    person: str
    at: datetime


def page_rows(engine: sa.Engine, scope: Scope) -> list[PageRow]:
    """Every `page` and `page_ack` event of the incidents in `scope`, in time order (one query)."""
    t = timeline_events.c
    query = (
        sa.select(t.incident_id, t.kind, t.name, t.value_from, t.value_to, t.actor, t.at)
        .join_from(timeline_events, incidents, incidents.c.id == t.incident_id)
        .where(t.kind.in_([str(EventKind.PAGE), str(EventKind.PAGE_ACK)]), *conditions(scope))
        .order_by(t.at, t.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [PageRow(int(r[0]), EventKind(r[1]), r[2], r[3], r[4], r[5], utc(r[6]) or r[6]) for r in rows]
