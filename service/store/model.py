"""What the index stores: timeline events and the Observation the worker and reindex hand to the store."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from .. import bounds


class EventKind(StrEnum):
    """The closed set of timeline event kinds (the `kind` column)."""

    INCIDENT = "incident"  # the incident label added or removed (to: added|removed)
    SEVERITY = "severity"  # severity level changed (from/to: "1".."4" or "")
    PHASE = "phase"  # phase changed (from/to: phase name or "")
    CATEGORY = "category"  # category changed
    STATE = "state"  # the issue was closed or reopened (to: closed|reopened)
    COMMENT = "comment"  # a non-system comment by someone other than the bot
    STATUS_UPDATE = "status_update"  # a comment that is an `@bot update ...` status update
    ROLE = "role"  # a role staffed or handed off (name: role; from/to: usernames)
    REVIEW = "review"  # the post-incident review issue was opened (to: its URL)
    PAGE = "page"  # a person paged (name: page id; from: the rotation that reached them; to: minutes to ack; actor)
    ALERTS_RESOLVED = "alerts_resolved"  # every alert of the incident's group resolved (name: group id; actor: bot)
    PAGE_ACK = "page_ack"  # a page acknowledged (name: page id; to: comment|link; actor: who): acknowledged time
    CAUSE = "cause"  # the cause confirmed or cleared (name: confirmed|cleared; to: the change; actor: who named it)


# What an incident opened from an alert holds in its description (service/alerts/render.py's marker, for the
# group's incident and the storm's alike): the index tells alert incidents from declared ones by it.
ALERT_MARK = "<!-- incident-bot:alert-group "


RESOLVED_NOTE = re.compile(r"<!-- incident-bot:alert-note ([0-9a-f]{32}) resolved-([0-9]{1,12}) -->")


def alerts_resolved(group_id: str, at: float, bot: str) -> TimelineEvent:
    """The "alerts resolved" event: when the group's last alert ended (the same from the job and from reindex)."""
    return TimelineEvent(datetime.fromtimestamp(at, UTC), EventKind.ALERTS_RESOLVED, group_id, "", "", bot, None, True)


def resolutions(body: str, bot: str) -> list[TimelineEvent]:
    """The "alerts resolved" events a bot comment records (its hidden marker, service/alerts/render.py)."""
    return [alerts_resolved(group, float(at), bot) for group, at in RESOLVED_NOTE.findall(body)]


class Source(StrEnum):
    """Where a timeline event was learned (the `source` column)."""

    DELIVERY = "delivery"
    REINDEX = "reindex"


@dataclass(frozen=True, order=True)
class TimelineEvent:
    """One dated fact about an incident; (at, kind, name, from, to, actor) is its natural key."""

    at: datetime
    kind: EventKind
    name: str = ""
    value_from: str = ""
    value_to: str = ""
    actor: str = ""
    actor_id: int | None = field(default=None, compare=False)
    by_bot: bool = field(default=False, compare=False)

    def key(self) -> tuple[datetime, str, str, str, str, str]:
        """The natural key: a replayed delivery or a second reindex produces the same one."""
        return (self.at, str(self.kind), self.name, self.value_from, self.value_to, self.actor)


class CauseKind(StrEnum):
    """What was named as an incident's cause."""

    DEPLOYMENT = "deployment"
    MERGE_REQUEST = "merge_request"
    FEATURE_FLAG = "feature_flag"


@dataclass(frozen=True)
class Cause:
    """An incident's confirmed cause: `project_id`/`iid` are the incident's, `cause_project_id` the change's."""

    project_id: int
    iid: int
    kind: CauseKind
    cause_project_id: int
    deployment_id: int | None = None
    merge_request_iid: int | None = None
    flag_name: str | None = None
    recorded_by: str = ""


@dataclass(frozen=True)
class MarkedCause:
    """The incident's cause as the bot's newest confirmation marks it (`store.cause_events`): `cause` recorded at
    `at`, None when it was cleared. What reindex writes through `store.causes.record_cause`."""

    at: datetime
    cause: Cause | None


class Progress(NamedTuple):
    """One phase's checklist: items ticked of the total."""

    phase: str
    ticked: int
    total: int


@dataclass(frozen=True)
class Observation:
    """An incident's facts as one delivery (or a reindex) leaves them, and the timeline events it saw.

    `None` in author, author_id, created_at, review_url or review_state means "not known
    from this source": the store keeps what it knew. Everything else is the state now.
    """

    project_id: int
    project_path: str
    iid: int
    title: str = ""
    description: str = ""
    url: str = ""
    confidential: bool = False
    drill: bool = False
    issue_type: str = "issue"
    category: str | None = None
    area: str | None = None
    severity: int | None = None
    phase: str | None = None
    state: str = "opened"
    author: str | None = None
    author_id: int | None = None
    created_at: datetime | None = None
    roles: dict[str, str] = field(default_factory=dict)
    review_url: str | None = None
    review_state: str | None = None
    observed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    events: tuple[TimelineEvent, ...] = ()
    is_incident: bool = True  # False: the incident label was removed (and it is not of type Incident)
    checklists: tuple[Progress, ...] = ()  # the checklist notes of the bot this delivery read
    cause: MarkedCause | None = None  # reindex: the bot's newest cause confirmation; None: none (the index keeps its)


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (SQLite hands back naive ones; they are UTC by construction here)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: Any) -> datetime | None:
    """GitLab's timestamps (ISO 8601, or the hooks' `2026-01-05 09:00:00 UTC`) in UTC, through the one bounded
    parser; a time outside the supported range (or with no UTC equivalent) is unknown, as a malformed one is."""
    if isinstance(value, datetime):
        return utc(value)
    found = bounds.parse_time(value)
    return found if found is not None and bounds.EARLIEST <= found < bounds.LATEST else None
    text = value.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    if " " in text and "T" not in text:
        date, _, rest = text.partition(" ")
        text = f"{date}T{rest.replace(' ', '')}"
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        return None
