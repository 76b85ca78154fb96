"""An incident's suspects: the changes shortly before it started that may have caused it. Pure.

A suspect is a successful deployment to a production-tier environment (or to an environment the rules
name, `settings.suspects.environments`) or a feature flag switched on or off, in the incident's project or
one its functional areas share (`projects:` in `rules/areas/*.yml` of an area covering its project, or of its alert
route's `area:`, never of an area only a label or title term puts it in), within `settings.suspects.window_hours`
before the incident's start. Failed and running deployments, and changes outside the window, are none.
A confidential incident names changes of its own project only: another project's readers may not be its
readers. Newest first, at most `settings.suspects.limit`, each with the reason it is listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..durations import human_duration
from ..rules import RuleSet
from ..rules.areas import sharing
from ..rules.model import Area
from ..rules.settings import SuspectSettings
from ..text import neutralise_line
from .hooks import PRODUCTION, SUCCESS, Change, Deployment


@dataclass(frozen=True)
class SuspectScope:
    """The incident whose suspects are sought: where and when it started, and who may read it."""

    project_id: int
    project_path: str
    started_at: datetime
    confidential: bool = False
    shared: tuple[str, ...] = ()  # project and group paths whose changes a non-confidential incident may name

    @property
    def paths(self) -> tuple[str, ...]:
        """The other projects' (and groups') paths whose changes may be named: none for a confidential incident."""
        return () if self.confidential else self.shared

    def sees(self, project_id: int, project_path: str) -> bool:
        """Whether a change of this project may be named in this incident."""
        if project_id == self.project_id:
            return True
        path = project_path.lower()
        return bool(path) and any(path == p.lower() or path.startswith(p.lower() + "/") for p in self.paths)


@dataclass(frozen=True)
class Suspect:
    """A change that may have caused the incident, and why it is listed."""

    change: Change
    at: datetime
    minutes_before: float
    reason: str


def scope_of(
    rules: RuleSet,
    project_id: int,
    project_path: str,
    started_at: datetime,
    confidential: bool,
    areas: Iterable[str] = (),
) -> SuspectScope:
    """The incident's scope under these rules: its project, those the areas covering it share, and those of
    `areas` (its alert route's area, `worker/scope.py`; never one people set): `rules.areas.sharing`."""
    shared = sharing(rules, project_path, areas)
    return SuspectScope(project_id, project_path, started_at, confidential, shared)


def changed_at(change: Change) -> datetime:
    """When the change happened: a deployment's last status change, a flag's switch."""
    return change.status_changed_at if isinstance(change, Deployment) else change.changed_at


def counts(change: Change, scope: SuspectScope, settings: SuspectSettings) -> bool:
    """Whether `change` is one of the incident's suspects (before the cut to the newest `settings.limit`)."""
    at = changed_at(change)
    start = scope.started_at
    if not start - timedelta(hours=settings.window_hours) <= at <= start:
        return False
    if not scope.sees(change.project_id, change.project_path):
        return False
    if isinstance(change, Deployment):
        return change.status == SUCCESS and (change.tier == PRODUCTION or change.environment in settings.environments)
    return True


def reason(change: Change, scope: SuspectScope, minutes: float) -> str:
    """Why the change is listed, as Markdown made inert: "deployed to production 12 min before the incident started"."""
    when = f"{human_duration(minutes)} before the incident started"
    elsewhere = "" if change.project_id == scope.project_id else f" in {neutralise_line(change.project_path)}"
    if isinstance(change, Deployment):
        return f"deployed to {neutralise_line(change.environment)}{elsewhere} {when}"
    switched = "on" if change.active else "off"
    return f"feature flag {neutralise_line(change.name)}{elsewhere} switched {switched} {when}"


def _order(change: Change) -> tuple[datetime, int, int, str]:
    """Newest first; ties broken the same way every time (deployments before flags, then project, then id)."""
    if isinstance(change, Deployment):
        return (changed_at(change), 1, change.project_id, str(change.deployment_id).zfill(20))
    return (changed_at(change), 0, change.project_id, change.name)


def select_suspects(scope: SuspectScope, changes: Iterable[Change], settings: SuspectSettings) -> list[Suspect]:
    """The incident's suspects among `changes`, newest first, at most `settings.limit`."""
    found = sorted((c for c in changes if counts(c, scope, settings)), key=_order, reverse=True)
    suspects = []
    for change in found[: settings.limit]:
        minutes = (scope.started_at - changed_at(change)).total_seconds() / 60
        suspects.append(Suspect(change, changed_at(change), minutes, reason(change, scope, minutes)))
    return suspects


def _under(changed: str, code_path: str) -> bool:
    """Whether a changed file is `code_path` (a file) or under it (a directory: `app/payments/` or `app/payments`)."""
    directory = code_path.rstrip("/")
    return changed == directory or changed.startswith(directory + "/")


def touches(areas: Iterable[Area], changed: Iterable[str]) -> str | None:
    """A merge request's reason from the files it changes: "touches `app/payments/`, a path of the payments area"
    for the first area path (in the areas' order) one of them is under; None when none is. The area's path is
    its rules' (`rules.areas.code_path_ok`: plain path characters), safe in a code span."""
    files = list(changed)
    for area in areas:
        for code_path in area.code_paths:
            if any(_under(f, code_path) for f in files):
                return f"touches `{code_path}`, a path of the {area.name} area"
    return None
