"""An incident's suspect scope as the worker knows it: the one place the suspects enricher, `record_causes`, the
cause's merge-request comment and the follow-ups' text (`follow_up_names`) get it from (`changes.suspects.scope_of`).

Its project, the `projects:` of the areas covering that project, and for an alert incident the `projects:` of its
alert route's `area:`: admin configuration, read from the group's record the bot keeps in Redis (`GroupRecord.area`),
and only when that record's incident is this issue (the description's marker is text people edit). An area label,
path or title term people set never widens the scope: it would show another, possibly private, project's
deployments and merge requests, and let `cause` record and comment there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from ..alerts.grouping import GroupStore
from ..alerts.render import group_of
from ..changes.suspects import SuspectScope, scope_of
from ..corrective import FollowUp, FollowUpIssue, may_name

if TYPE_CHECKING:
    from ..incident import Issue
    from ..store.query import IncidentRow
    from .delivery import Delivery


def route_areas(delivery: Delivery, description: str, incident: tuple[int, int]) -> tuple[str, ...]:
    """The area of the alert route that opened this incident (none: not an alert incident, or not this group's)."""
    group = group_of(description)
    if group is None or delivery.redis is None:
        return ()
    try:
        record = GroupStore(delivery.redis, delivery.keys).get(group)
    except RedisError as exc:  # the scope shrinks to what the rules alone share; Redis trouble fails elsewhere
        delivery.log.warning("alert group %s not read for the suspects' scope: %s", group, exc)
        return ()
    if record is None or not record.area or (record.project_id, record.iid) != incident:
        return ()
    return (record.area,)


def incident_scope(delivery: Delivery, issue: Issue, started: datetime, confidential: bool) -> SuspectScope:
    """The incident's scope: its project, the areas covering it, its alert route's area (`route_areas`)."""
    event = delivery.event
    areas = route_areas(delivery, issue.description, (event.project_id, event.iid))
    return scope_of(delivery.rules, event.project_id, event.project_path or "", started, confidential, areas)


def indexed_scope(delivery: Delivery, incident: tuple[int, int], known: IncidentRow | None) -> SuspectScope:
    """The scope of an incident the delivery is not about, as the index keeps it (its path, description and
    confidentiality); not in the index: its own project only, as a confidential incident's."""
    now = delivery.clock()
    if known is None:
        return scope_of(delivery.rules, incident[0], "", now, True)
    areas = route_areas(delivery, known.description, incident)
    return scope_of(delivery.rules, incident[0], known.project_path, now, known.confidential, areas)


def follow_up_names(
    delivery: Delivery, scope: SuspectScope, confidential: bool
) -> Callable[[FollowUp | FollowUpIssue], bool]:
    """Which follow-ups may be named in text written for this incident's `scope` into an issue that is `confidential`
    or not: `corrective.may_name` with the rules' `followups.project`."""
    elsewhere = delivery.rules.settings.followups.project
    return lambda fu: may_name(fu, sees=scope.sees, confidential=confidential, followups_project=elsewhere)
