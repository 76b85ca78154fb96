"""Similar past incidents: the same category or functional area, and words in common; confidential ones kept in.

A confidential incident is offered only to a confidential incident of the same project: its title
must never reach a comment that more people can read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from .query import IncidentRow
from .schema import incidents
from .store import Store

MAX_CANDIDATES = 2_000  # the newest incidents are compared; older ones rarely help a responder now
LIMIT = 3
_WORD = re.compile(r"[a-z0-9][a-z0-9_-]{3,}")
# Words too common in incident titles to say that two incidents are alike.
STOP = frozenset(
    "with from that this have been were when after before into over under about errors error issue issues "
    "incident incidents some more than there their they them what which while customers customer users user "
    "production service services failing failed fails broken down".split()
)


def terms(text: str) -> frozenset[str]:
    """The words (four letters or more, common ones dropped) that make two incidents comparable."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in STOP)


@dataclass(frozen=True)
class Similar:
    """A past incident like this one: why (the shared words, category, areas) and how alike."""

    row: IncidentRow
    score: int
    shared: tuple[str, ...]
    same: tuple[str, ...]  # "category security", "area security", ...


def similar(
    store: Store,
    *,
    project_id: int,
    iid: int,
    text: str,
    category: str | None,
    areas: frozenset[str],
    confidential: bool,
    area_of: Callable[[IncidentRow], frozenset[str]] = lambda row: frozenset({row.area} - {None}),  # type: ignore[arg-type]
    limit: int = LIMIT,
) -> list[Similar]:
    """Up to `limit` past incidents sharing the category or an area and at least one word, most alike first."""
    mine = terms(text)
    if not mine:
        return []
    if not category and not areas:
        return []
    query = (
        sa.select(incidents)
        .where(sa.not_(sa.and_(incidents.c.project_id == project_id, incidents.c.iid == iid)))
        .where(incidents.c.drill == sa.false())
        .order_by(incidents.c.started_at.desc())
        .limit(MAX_CANDIDATES)
    )
    if not areas:
        # Only the category can make two incidents alike: let the database drop the others. This runs
        # before a declaration's first write, so its cost is the delivery's latency.
        query = query.where(incidents.c.category == category)
    found = []
    with store.engine.connect() as conn:
        raws = conn.execute(query).all()
    for raw in raws:
        # A full IncidentRow costs more than the comparison: built only for a row that may be listed.
        if raw.confidential and not (confidential and raw.project_id == project_id):
            continue
        same = [f"category {category}"] if category and raw.category == category else []
        row = IncidentRow.from_row(raw) if areas else None
        if row is not None:  # a past incident's areas come from the rules' patterns: only when they can matter
            same += [f"area {a}" for a in sorted(areas & area_of(row))]
        if not same:
            continue
        shared = mine & terms(f"{raw.title or ''} {raw.description or ''}")
        if shared:
            row = row or IncidentRow.from_row(raw)
            found.append(Similar(row, len(shared) + 2 * len(same), tuple(sorted(shared)), tuple(same)))
    # Most alike first; among equals the newest (rows came newest first and the sort is stable).
    return sorted(found, key=lambda s: -s.score)[:limit]
