"""Similar past incidents: the same category or functional area, and words in common; confidential ones kept in.

Past incidents come from the incident's own project only, unless the rules say a group of projects shares
them (an area's `projects:`, passed in as `projects`): another project's readers may not see them. A
confidential incident is offered only to a confidential incident of the same project: its title
must never reach a comment that more people can read (the query itself leaves the others out).

A declaration asks this once its issue is written; the answer goes into its comment. What it costs: one
narrow query, by start time, for the candidates (no description); each candidate's words, split from
its title and description once per process and kept while its row is unchanged (`Words`); and full rows
only for the incidents listed.
"""

from __future__ import annotations

import re
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .query import IncidentRow
from .schema import incidents
from .store import Store

MAX_CANDIDATES = 2_000  # the newest incidents are compared; older ones rarely help a responder now
LIMIT = 3
CHUNK = 500  # ids per `IN (...)` when reading descriptions
_WORD = re.compile(r"[a-z0-9][a-z0-9_-]{3,}")
# Words too common in incident titles to say that two incidents are alike.
STOP = frozenset(
    "with from that this have been were when after before into over under about errors error issue issues "
    "incident incidents some more than there their they them what which while customers customer users user "
    "production service services failing failed fails broken down".split()
)
NOT_SEEN: tuple[str, tuple[str, ...]] = ("", ())
_c = incidents.c
# A row's version as the database stores it: compared for equality only, so SQLite's text is not parsed into
# datetimes (every record() moves updated_at, so a changed title or description moves it too).
_VERSION = sa.type_coerce(_c.updated_at, sa.String).label("version")


class Candidate(Protocol):
    """What is compared of a past incident before it is listed (a row of the candidates query)."""

    id: int
    project_path: str
    title: str
    category: str | None
    area: str | None


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


class Words:
    """Each past incident's words, read and split once per process, kept while its row is unchanged.

    Kept as tuples of interned strings (the same words recur across incidents): a few hundred bytes an
    incident. A row whose `updated_at` moved is read again; past `limit` entries, only the
    last lookup's candidates are kept.
    """

    def __init__(self, limit: int = 4 * MAX_CANDIDATES):
        self.limit = limit
        self._of: dict[int, tuple[str, tuple[str, ...]]] = {}

    def of(self, conn: Connection, rows: Sequence[Any]) -> Mapping[int, tuple[str, tuple[str, ...]]]:
        """Each candidate row's (version, words) by id, reading the description only of rows not seen as they are."""
        known = self._of
        stale = [id_ for id_, version, *_ in rows if version != known.get(id_, NOT_SEEN)[0]]
        for start in range(0, len(stale), CHUNK):
            query = sa.select(_c.id, _VERSION, _c.title, _c.description).where(_c.id.in_(stale[start : start + CHUNK]))
            for row in conn.execute(query):
                known[row.id] = (row.version, tuple(sys.intern(w) for w in terms(f"{row.title} {row.description}")))
        if len(known) > self.limit:
            wanted = {r.id for r in rows}
            self._of = {k: v for k, v in known.items() if k in wanted}
        return self._of


_words: weakref.WeakKeyDictionary[Store, Words] = weakref.WeakKeyDictionary()


def _words_of(store: Store) -> Words:
    found = _words.get(store)
    if found is None:
        found = _words[store] = Words()
    return found


def _no_area(row: Candidate) -> frozenset[str]:
    return frozenset({row.area} - {None})  # type: ignore[arg-type]


def similar(
    store: Store,
    *,
    project_id: int,
    iid: int,
    text: str,
    category: str | None,
    areas: frozenset[str],
    confidential: bool,
    projects: Sequence[str] = (),
    area_of: Callable[[Candidate], frozenset[str]] = _no_area,
    limit: int = LIMIT,
) -> list[Similar]:
    """Up to `limit` past incidents sharing the category or an area and at least one word, most alike first.

    Only of the project `project_id`, and of the projects and groups `projects` names (the rules' sharing).
    """
    mine = terms(text)
    if not mine:
        return []
    if not category and not areas:
        return []
    shown = _c.confidential == sa.false()
    if confidential:
        shown = sa.or_(shown, _c.project_id == project_id)
    shown = sa.and_(shown, _shared_with(project_id, projects))
    columns = [_c.id, _VERSION, _c.category]
    if areas:
        columns += [_c.project_path, _c.title, _c.area]  # what `area_of` reads
    query = (
        sa.select(*columns)
        .where(sa.not_(sa.and_(_c.project_id == project_id, _c.iid == iid)), _c.drill == sa.false(), shown)
        .order_by(_c.started_at.desc())
        .limit(MAX_CANDIDATES)
    )
    if not areas:
        query = query.where(_c.category == category)  # only the category can make two incidents alike
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        words = _words_of(store).of(conn, rows)
        ranked = []
        for newest, row in enumerate(rows):  # newest first
            shared = mine.intersection(words.get(row.id, NOT_SEEN)[1])  # not seen: deleted since
            if not shared:
                continue
            same_category = category is not None and row.category == category
            # A past incident's areas come from the rules' patterns: worked out only when they can matter.
            same_areas = areas & area_of(row) if areas else areas
            alike = same_category + len(same_areas)
            if alike:
                ranked.append((-(len(shared) + 2 * alike), newest, row.id, shared, same_category, same_areas))
        ranked.sort(key=lambda entry: entry[:2])  # most alike first; among equals the newest
        listed = ranked[:limit]
        full = _rows(conn, [entry[2] for entry in listed])
    return [
        Similar(full[i], -score, tuple(sorted(shared)), _why(category, same_category, same_areas))
        for score, _, i, shared, same_category, same_areas in listed
        if i in full
    ]


def _shared_with(project_id: int, projects: Sequence[str]) -> sa.ColumnElement[bool]:
    """The rows of this project, or of a project that is (or is in a group) one of `projects` (any case)."""
    path = sa.func.lower(_c.project_path)
    shared = [sa.or_(path == p.lower(), path.startswith(p.lower() + "/", autoescape=True)) for p in projects]
    return sa.or_(_c.project_id == project_id, *shared)


def _why(category: str | None, same_category: bool, same_areas: frozenset[str]) -> tuple[str, ...]:
    """ "category security", "area security", ...: what a listed incident has in common with the new one."""
    return (*([f"category {category}"] if same_category else []), *(f"area {a}" for a in sorted(same_areas)))


def _rows(conn: Connection, ids: Iterable[int]) -> dict[int, IncidentRow]:
    wanted = list(ids)
    if not wanted:
        return {}
    return {r.id: IncidentRow.from_row(r) for r in conn.execute(sa.select(incidents).where(_c.id.in_(wanted)))}
