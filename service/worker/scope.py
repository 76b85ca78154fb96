"""An incident's suspect scope as the worker knows it: the one place the suspects enricher, `record_causes` and the
cause's merge-request comment get it from (`changes.suspects.scope_of`).

Its project, the `projects:` of the areas covering that project, and for an alert incident the `projects:` of its
alert route's `area:`: admin configuration, read from the group's record the bot keeps in Redis (`GroupRecord.area`),
and only when that record's incident is this issue (the description's marker is text people edit). An area label,
path or title term people set never widens the scope: it would show another, possibly private, project's
deployments and merge requests, and let `cause` record and comment there.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from ..alerts.grouping import GroupStore
from ..alerts.render import group_of
from ..changes.suspects import SuspectScope, scope_of

if TYPE_CHECKING:
    from ..incident import Issue
    from .delivery import Delivery


def route_areas(delivery: Delivery, issue: Issue) -> tuple[str, ...]:
    """The area of the alert route that opened this incident (none: not an alert incident, or not this group's)."""
    group = group_of(issue.description)
    if group is None or delivery.redis is None:
        return ()
    try:
        record = GroupStore(delivery.redis, delivery.keys).get(group)
    except RedisError as exc:  # the scope shrinks to what the rules alone share; Redis trouble fails elsewhere
        delivery.log.warning("alert group %s not read for the suspects' scope: %s", group, exc)
        return ()
    event = delivery.event
    if record is None or not record.area or (record.project_id, record.iid) != (event.project_id, event.iid):
        return ()
    return (record.area,)


def incident_scope(delivery: Delivery, issue: Issue, started: datetime, confidential: bool) -> SuspectScope:
    """The incident's scope: its project, the areas covering it, its alert route's area (`route_areas`)."""
    event = delivery.event
    areas = route_areas(delivery, issue)
    return scope_of(delivery.rules, event.project_id, event.project_path or "", started, confidential, areas)
