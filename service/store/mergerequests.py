"""A deployment's merge requests in the index (issue 19): kept once read from GitLab, so each is read once.

The suspects' enricher (`worker/mergerequests.py`) asks `read` for the deployments it lists; those never read
are read from GitLab and kept with `keep` (a row per merge request, and a `merge_request_reads` row even when
there are none, so an empty answer is not asked again). A merge request's changed files are kept beside it
(`keep_paths`) for the areas' `code_paths`. `report --changes` counts a merge request named as a cause against
`first_deployment`: the first successful production deployment that carried it. `unread` names the production
deployments never read, which `reindex` (`store/reindex_mergerequests.py`) and a `cause !<iid>` no kept row
explains (`worker/causes.py`) read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ..changes.hooks import PRODUCTION, SUCCESS, Deployment
from ..gitlab.changes import MergeRequest
from .changes import deployment, production
from .model import utc
from .schema import deployment_merge_requests, deployments, merge_request_reads

Key = tuple[int, int]  # (project id, deployment id)
_m, _r = deployment_merge_requests.c, merge_request_reads.c


def _insert(engine: Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def merge_request(row: Any) -> MergeRequest:
    """A deployment_merge_requests row as the record it was written from."""
    return MergeRequest(
        row.merge_request_project_id, row.merge_request_iid, row.title, row.author, utc(row.merged_at), row.web_url,
        row.reference,
    )  # fmt: skip


@lru_cache(maxsize=1)
def _read_statement() -> Any:
    """`read`'s one query, built once (its deployments an expanding bound parameter): each read row, and its merge
    requests (none: a row of NULLs, the outer join's)."""
    carried = sa.and_(_m.project_id == _r.project_id, _m.deployment_id == _r.deployment_id)
    return (
        sa.select(_r.project_id.label("deployment_project_id"), _r.deployment_id.label("read_deployment_id"), *_m)
        .select_from(merge_request_reads.outerjoin(deployment_merge_requests, carried))
        .where(sa.tuple_(_r.project_id, _r.deployment_id).in_(sa.bindparam("keys", expanding=True)))
    )


def read(engine: Engine, keys: Iterable[Key]) -> dict[Key, list[MergeRequest]]:
    """The merge requests of each deployment of `keys` already read (one absent from the answer: never read)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    found: dict[Key, list[MergeRequest]] = {}
    with engine.connect() as conn:
        for row in conn.execute(_read_statement(), {"keys": wanted}):
            listed = found.setdefault((int(row.deployment_project_id), int(row.read_deployment_id)), [])
            if row.merge_request_iid is not None:
                listed.append(merge_request(row))
    return found


def keep(engine: Engine, key: Key, merge_requests: Iterable[MergeRequest], at: datetime | None = None) -> None:
    """Keep what GitLab said a deployment carried (a second write of the same adds nothing)."""
    insert = _insert(engine)
    rows = [
        {
            "project_id": key[0],
            "deployment_id": key[1],
            "merge_request_project_id": mr.project_id,
            "merge_request_iid": mr.iid,
            "reference": mr.reference[:255],
            "title": mr.title[:255],
            "author": mr.author[:255],
            "merged_at": utc(mr.merged_at),
            "web_url": mr.web_url[:2048],
        }
        for mr in merge_requests
    ]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(deployment_merge_requests).values(rows).on_conflict_do_nothing())
        read_at = utc(at) or datetime.now(UTC)
        conn.execute(
            insert(merge_request_reads)
            .values(project_id=key[0], deployment_id=key[1], read_at=read_at)
            .on_conflict_do_nothing()
        )


def paths_of(engine: Engine, merge_requests: Iterable[MergeRequest]) -> dict[tuple[int, int], list[str]]:
    """The changed files kept for each merge request (project id, iid) whose files were read."""
    wanted = list({(mr.project_id, mr.iid) for mr in merge_requests})
    if not wanted:
        return {}
    query = sa.select(_m.merge_request_project_id, _m.merge_request_iid, _m.changed_paths).where(
        sa.tuple_(_m.merge_request_project_id, _m.merge_request_iid).in_(wanted), _m.changed_paths.is_not(None)
    )
    with engine.connect() as conn:
        return {(int(row[0]), int(row[1])): [p for p in str(row[2]).split("\n") if p] for row in conn.execute(query)}


def keep_paths(engine: Engine, mr: MergeRequest, paths: Iterable[str]) -> None:
    """Keep a merge request's changed files, on every deployment's row of it."""
    text = "\n".join(p.replace("\n", " ") for p in paths)
    where = sa.and_(_m.merge_request_project_id == mr.project_id, _m.merge_request_iid == mr.iid)
    with engine.begin() as conn:
        conn.execute(deployment_merge_requests.update().where(where).values(changed_paths=text))


def first_deployment(engine: Engine, project_id: int, iid: int) -> Deployment | None:
    """The first successful production deployment known to have carried the merge request (`report --changes`)."""
    d = deployments.c
    carried = sa.and_(_m.project_id == d.project_id, _m.deployment_id == d.deployment_id)
    query = (
        sa.select(deployments)
        .select_from(deployments.join(deployment_merge_requests, carried))
        .where(
            _m.merge_request_project_id == project_id,
            _m.merge_request_iid == iid,
            d.status == SUCCESS,
            d.tier == PRODUCTION,
        )
        .order_by(d.status_changed_at, d.deployment_id)
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return deployment(row) if row is not None else None


def unread(
    engine: Engine,
    environments: Iterable[str] = (),
    *,
    project_ids: Iterable[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest: int | None = None,
) -> list[Deployment]:
    """The successful production deployments (`store.changes.production`, the suspects' predicate) whose merge
    requests were never read: of `project_ids` (all without), changed in [since, until], oldest first (`newest`:
    only that many, newest first)."""
    d = deployments.c
    read = sa.exists().where(_r.project_id == d.project_id, _r.deployment_id == d.deployment_id)
    query = sa.select(deployments).where(production(list(environments)), ~read)
    if project_ids is not None:
        query = query.where(d.project_id.in_(list(project_ids)))
    if since is not None:
        query = query.where(d.status_changed_at >= utc(since))
    if until is not None:
        query = query.where(d.status_changed_at <= utc(until))
    order = (d.status_changed_at, d.project_id, d.deployment_id)
    query = query.order_by(*order) if newest is None else query.order_by(*(c.desc() for c in order)).limit(newest)
    with engine.connect() as conn:
        return [deployment(row) for row in conn.execute(query)]
