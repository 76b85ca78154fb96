"""What the pages show of an incident: durations, the cadence check, and redaction of confidential ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from service.durations import human_duration
from service.rules import RuleSet
from service.store.model import ALERT_MARK

from .text import own_ref, user_text

REDACTED = "confidential incident"


class Shown(Protocol):
    """What a row needs of an incident (an IncidentRow or the board's lighter BoardRow)."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> int: ...
    @property
    def project_path(self) -> str: ...
    @property
    def iid(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def confidential(self) -> bool: ...
    @property
    def drill(self) -> bool: ...
    @property
    def category(self) -> str | None: ...
    @property
    def area(self) -> str | None: ...
    @property
    def severity(self) -> int | None: ...
    @property
    def phase(self) -> str | None: ...
    @property
    def roles(self) -> dict[str, str]: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def last_status_update_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Line:
    """One incident as a table row shows it (already neutralised and redacted as the viewer requires)."""

    ref: str  # `group/project#12`
    href: str  # the incident page on the board
    url: str  # the GitLab issue ("" when redacted)
    title: str
    redacted: bool
    drill: bool
    severity: int | None
    severity_name: str
    alert: bool  # opened from an alert group: a tag beside `drill`
    phase: str
    category: str
    area: str
    roles: tuple[tuple[str, str], ...]  # (role abbreviation, username)
    started_at: datetime | None
    age: str
    in_phase: str
    last_update: str  # how long since the last status update ("none yet")
    cadence: str  # the severity's update cadence ("" when it has none)
    overdue: bool
    resolved_at: datetime | None
    took: str  # start to resolved
    paged: bool = False  # a page of it is not acknowledged (the board shows these first)

    @property
    def summary(self) -> str:
        """The redacted form the issue prescribes: `confidential incident, severity N, phase X`."""
        return f"{REDACTED}, severity {self.severity if self.severity is not None else '?'}, phase {self.phase or '?'}"


def _since(start: datetime, end: datetime) -> str:
    return human_duration((end - start).total_seconds() / 60)


def role_abbreviation(rules: RuleSet, role: str) -> str:
    """`Incident Manager (IM)` -> `IM`; a role without one keeps its name."""
    spec = rules.roles.get(role)
    title = spec.title if spec else role
    if "(" in title and title.endswith(")"):
        return title[title.rindex("(") + 1 : -1]
    return title


def ref(row: Shown) -> str:
    """How an incident is named: `group/project#iid` (the project id when the path is unknown)."""
    return f"{row.project_path or row.project_id}#{row.iid}"


def line(
    row: Shown,
    rules: RuleSet,
    now: datetime,
    *,
    may_see: Callable[[Shown], bool],
    entered_phase: Mapping[int, datetime] | None = None,
    paged: AbstractSet[int] = frozenset(),
) -> Line:
    """The row as the viewer may see it, measured at `now`."""
    visible = may_see(row)
    start = row.started_at or row.created_at
    since_phase = (entered_phase or {}).get(row.id) or start
    severity = rules.severities.get(row.severity) if row.severity is not None else None
    cadence_minutes = severity.update_every_minutes if severity else None
    last = row.last_status_update_at
    since_update = last or start
    waited = (now - since_update).total_seconds() if since_update else 0.0
    overdue = bool(cadence_minutes) and row.resolved_at is None and waited > float(cadence_minutes or 0) * 60
    roles = tuple((role_abbreviation(rules, r), user_text(u)) for r, u in sorted(row.roles.items()) if u)
    project = row.project_path or str(row.project_id)
    return Line(
        ref=own_ref(ref(row)),
        href=f"/incidents/{project}/{row.iid}",
        url=row.url if visible and row.url.startswith(("https://", "http://")) else "",
        title=user_text(row.title) if visible else "",
        redacted=not visible,
        drill=row.drill,
        severity=row.severity,
        alert=bool(getattr(row, "from_alert", False)) or ALERT_MARK in str(getattr(row, "description", "")),
        severity_name=severity.name if severity else "",
        phase=row.phase or "",
        category=user_text(row.category or "") if visible else "",
        area=user_text(row.area or "") if visible else "",
        roles=roles if visible else (),
        started_at=start,
        age=_since(start, now) if start else "",
        in_phase=_since(since_phase, now) if since_phase else "",
        last_update=_since(last, now) + " ago" if last else "none yet",
        cadence=f"every {human_duration(float(cadence_minutes))}" if cadence_minutes else "",
        overdue=overdue,
        resolved_at=row.resolved_at,
        took=_since(start, row.resolved_at) if row.resolved_at and start else "",
        paged=row.id in paged,
    )
