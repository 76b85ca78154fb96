"""The merge requests of the deployments a suspect list names: from the index, else read from GitLab once and kept.

Called by the suspects' enricher (`worker/suspects.py`, `SuspectsPart`) and by a cause's comment on its merge
requests (`worker/mrcomment.py`). A deployment's merge requests are read from GitLab the first time a list names
it (`GitLabClient.deployment_merge_requests`) and kept in the index (`store/mergerequests.py`): the next incident
that names the same deployment asks GitLab nothing. GitLab refusing or failing is logged and the deployment is
shown without its merge requests (and asked again next time): it never costs the list. A dry run asks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..changes.hooks import Deployment
from ..changes.suspects import touches
from ..gitlab import GitLabError
from ..gitlab.changes import MergeRequest

if TYPE_CHECKING:
    from ..store import Store
    from .delivery import Delivery

Key = tuple[int, int]
MAX_DIFF_READS = 20  # merge requests whose changed files one list reads from GitLab at most (the rest: next time)


def merge_requests(store: Store, delivery: Delivery, deployed: Iterable[Deployment]) -> dict[Key, list[MergeRequest]]:
    """Each deployment's merge requests, newest merged first; a deployment absent: GitLab could not say."""
    from ..store import mergerequests as kept  # SQLAlchemy loads with the index, not with the worker

    keys = list(dict.fromkeys((d.project_id, d.deployment_id) for d in deployed))
    found = {k: sorted(mrs, key=_newest, reverse=True) for k, mrs in kept.read(store.engine, keys).items()}
    client = delivery.client
    for key in keys:
        if key in found or client is None:
            continue
        try:
            read = client.deployment_merge_requests(*key)
        except GitLabError as exc:
            delivery.log.warning("merge requests of deployment %s of project %s not read: %s", key[1], key[0], exc)
            continue
        kept.keep(store.engine, key, read, delivery.clock())
        found[key] = sorted(read, key=_newest, reverse=True)
    return found


def _newest(mr: MergeRequest) -> tuple[float, int]:
    return (mr.merged_at.timestamp() if mr.merged_at is not None else 0.0, mr.iid)


def area_reasons(store: Store, delivery: Delivery, carried: dict[Key, list[MergeRequest]]) -> dict[Key, str]:
    """(project id, iid) -> "touches `app/payments/`, a path of the payments area" for the merge requests whose
    changed files are under an area's `code_paths` (read from GitLab once per merge request, then the index);
    nothing is read when no area lists paths."""
    from ..store import mergerequests as kept  # SQLAlchemy loads with the index, not with the worker

    areas = [a for a in delivery.rules.areas.values() if a.code_paths]
    mrs = list({(mr.project_id, mr.iid): mr for mrs in carried.values() for mr in mrs}.values())
    if not areas or not mrs:
        return {}
    paths = kept.paths_of(store.engine, mrs)
    client = delivery.client
    for mr in [mr for mr in mrs if (mr.project_id, mr.iid) not in paths][:MAX_DIFF_READS]:
        if client is None:
            break
        try:
            paths[(mr.project_id, mr.iid)] = read = client.merge_request_paths(mr.project_id, mr.iid)
        except GitLabError as exc:
            delivery.log.warning("changed files of %s!%s not read: %s", mr.project_id, mr.iid, exc)
            continue
        kept.keep_paths(store.engine, mr, read)
    return {key: reason for key, files in paths.items() if (reason := touches(areas, files))}
