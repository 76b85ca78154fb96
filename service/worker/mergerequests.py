"""The merge requests of the deployments a suspect list names: from the index, else read from GitLab once and kept.

Called by the suspects' enricher (`worker/suspects.py`, `SuspectsPart`) and by a cause's comment on its merge
requests (`worker/mrcomment.py`). A deployment's merge requests are read from GitLab the first time a list names
it (`GitLabClient.deployment_merge_requests`) and kept in the index (`store/mergerequests.py`): the next incident
that names the same deployment asks GitLab nothing. GitLab refusing or failing is logged and the deployment is
shown without its merge requests (and asked again next time): it never costs the list. A dry run asks nothing.
The reads a list needs are sent together (`gitlab.together`: one round trip however many deployments it names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from ..changes.hooks import Deployment
from ..changes.suspects import touches
from ..gitlab import GitLabClient, GitLabError
from ..gitlab.changes import MergeRequest
from ..gitlab.together import together

if TYPE_CHECKING:
    from ..store import Store
    from .delivery import Delivery

Key = tuple[int, int]
T = TypeVar("T")
MAX_DIFF_READS = 20  # merge requests whose changed files one list reads from GitLab at most (the rest: next time)


def merge_requests(store: Store, delivery: Delivery, deployed: Iterable[Deployment]) -> dict[Key, list[MergeRequest]]:
    """Each deployment's merge requests, newest merged first; a deployment absent: GitLab could not say."""
    from ..store import mergerequests as kept  # SQLAlchemy loads with the index, not with the worker

    keys = list(dict.fromkeys((d.project_id, d.deployment_id) for d in deployed))
    found = {k: sorted(mrs, key=_newest, reverse=True) for k, mrs in kept.read(store.engine, keys).items()}
    wanted = [key for key in keys if key not in found]
    for key, read in _read(
        delivery, "the merge requests of deployment", wanted, lambda c, k: c.deployment_merge_requests(*k)
    ).items():
        kept.keep(store.engine, key, read, delivery.clock())
        found[key] = sorted(read, key=_newest, reverse=True)
    return found


def _read(delivery: Delivery, what: str, keys: list[Key], call: Callable[[GitLabClient, Key], T]) -> dict[Key, T]:
    """`call` for each key, all sent at once (one round trip); a key GitLab failed for is logged and left out (asked
    again next time). The index is written by the caller, in the job's thread. A dry run reads nothing."""
    client = delivery.client
    if client is None or not keys:
        return {}

    def one(key: Key, c: GitLabClient = client) -> T | GitLabError:
        try:
            return call(c, key)
        except GitLabError as exc:
            return exc

    got: dict[Key, T] = {}
    for key, answer in zip(keys, together(*(partial(one, key) for key in keys)), strict=True):
        if isinstance(answer, GitLabError):
            delivery.log.warning("%s %s (project %s) not read: %s", what, key[1], key[0], answer)
        else:
            got[key] = answer
    return got


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
    unread = [(mr.project_id, mr.iid) for mr in mrs if (mr.project_id, mr.iid) not in paths][:MAX_DIFF_READS]
    for key, files in _read(
        delivery, "the changed files of merge request", unread, lambda c, k: c.merge_request_paths(*k)
    ).items():
        kept.keep_paths(store.engine, MergeRequest(*key), files)
        paths[key] = files
    return {key: reason for key, files in paths.items() if (reason := touches(areas, files))}
