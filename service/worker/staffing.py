"""Staffing: the assignees a plan leaves, written by username in the issue's write round trip.

GitLab takes the usernames (GraphQL `issueSetAssignees`, REPLACE) and drops the ones it does not know, so no user
lookup precedes the write. Its answer says who is assigned. A newly staffed person missing from it is looked up
afterwards, and only then (a later round trip, rare): GitLab Free keeps one assignee, so a second person left out
is not "not a GitLab user". An event without its project's path (GraphQL needs it) staffs by id, as the REST
`PUT` does, after the lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from ..gitlab import GitLabClient
from ..gitlab.together import together
from ..incident import IncidentState
from ..plan import Assign, Plan, Unassign


@dataclass
class Staffing:
    """The assignees after a plan: all of them (GitLab replaces the list) and the newly staffed among them."""

    usernames: list[str]
    staffed: list[str]
    assigned: list[str] | None = None  # who GitLab says is assigned after the write
    unknown: list[str] = field(default_factory=list)  # found unknown before the write (staffing by id)


def staffing(plan: Plan, state: IncidentState) -> Staffing | None:
    """The full assignee list after this plan (None: unchanged)."""
    current = list(state.issue.assignees)
    staffed = list(dict.fromkeys(u for a in plan.of(Assign) for u in a.usernames if u not in current))
    leaving = {u for a in plan.of(Unassign) for u in a.usernames if u in current}
    if not staffed and not leaving:
        return None
    return Staffing([u for u in current if u not in leaving] + staffed, staffed)


def by_username(client: GitLabClient, project_path: str, iid: int, staff: Staffing) -> Callable[[], None]:
    """The write, to send with the issue's other writes."""

    def write() -> None:
        staff.assigned = client.set_assignees(project_path, iid, staff.usernames)

    return write


def by_id(client: GitLabClient, state: IncidentState, staff: Staffing) -> list[int] | None:
    """The assignee ids for the REST `PUT` (None: unchanged), every lookup in one round trip; the unknown kept."""
    current = dict(zip(state.issue.assignees, state.issue.assignee_ids, strict=False))
    ids = [uid for name, uid in current.items() if name in staff.usernames]
    found = together(*(partial(client.user_id, name) for name in staff.staffed))
    for username, uid in zip(staff.staffed, found, strict=True):
        if uid is None:
            staff.unknown.append(username)
        elif uid not in ids:
            ids.append(uid)
    return None if ids == list(current.values()) else ids


def not_users(client: GitLabClient, staff: Staffing | None) -> list[str]:
    """The newly staffed usernames GitLab does not know: looked up only when missing from its answer."""
    if staff is None or staff.assigned is None:
        return staff.unknown if staff is not None else []
    missing = [u for u in staff.staffed if u not in staff.assigned]
    found = together(*(partial(client.user_id, name) for name in missing))
    return [name for name, uid in zip(missing, found, strict=True) if uid is None]
