"""The typed actions an alert notification plans (service.handlers.alerts), applied by service.worker.alertapply.

Each names its rule (`alerts.routes[N]`, `alerts.default`, `alerts.storm`, ...), like every planned action.
Opening, reopening or changing an incident here is followed by the Issue Hook GitLab would have sent, queued
for the ordinary planner: the incident process (staffing, checklist, notifications, reminders, index) runs
as for a declared incident, in its own one comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..plan import Action


@dataclass(frozen=True)
class OpenAlertIncident(Action):
    """Open the group's incident issue in the routed project (or find the one a killed attempt opened)."""

    project: str
    title: str
    description: str
    labels: tuple[str, ...]
    confidential: bool
    opening: str  # the marker in the description, searched for on retry
    previous: str = ""  # the URL of the incident this group had before, linked from the new one


@dataclass(frozen=True)
class JoinAlertStorm(Action):
    """List the group in the storm incident (opened with the first overflow, its description edited after).

    A confidential route's groups have a storm incident of their own: confidential, in the route's project (one
    per project), so an open issue never lists them."""

    project: str
    group_id: str
    title: str
    status: str
    since: float | None
    labels: tuple[str, ...]
    limit: int
    confidential: bool = False


@dataclass(frozen=True)
class UpdateAlertTable(Action):
    """Edit the alert table in the incident's description in place (no comment per repeat)."""

    table: str


@dataclass(frozen=True)
class EscalateAlertIncident(Action):
    """A more severe alert joined: the severity label changes as a person's change would."""

    add: str
    remove: tuple[str, ...]


@dataclass(frozen=True)
class CommentOnAlertIncident(Action):
    """A comment on the incident (every alert resolved; fired again), posted once per `key`.

    `key` names the occasion (`resolved-<last end>`, `fired-again-<resolution>`): the comment carries it in a
    hidden marker, so a retry of a job killed after posting finds the comment instead of posting it twice."""

    body: str
    key: str = ""


@dataclass(frozen=True)
class ReopenAlertIncident(Action):
    """The group fired again within `reopen_within_minutes` of resolving and a person had closed its incident."""


@dataclass(frozen=True)
class ResolveAlertIncident(Action):
    """`on_resolved: mitigate` (move to `phase_label`) or `close`; `comment` plans no such action."""

    behaviour: str
    phase_label: str = ""
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class SilenceAlertGroup(Action):
    """`@bot silence <duration>` on an alert incident: an Alertmanager silence of the group's labels."""

    group_id: str
    seconds: int
    created_by: str
    incident_url: str


@dataclass(frozen=True)
class UnsilenceAlertGroup(Action):
    """`@bot unsilence`: expire the silences the bot made for this incident's group."""

    group_id: str


@dataclass(frozen=True)
class ExpireAlertSilences(Action):
    """The alert incident closed: expire the silences the bot made for it (quietly: the close says enough)."""

    group_id: str
