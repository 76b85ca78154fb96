"""Changes on the board (issue 19): the "changes" panel, the last 30 days' change-failure rate and the last causes.

The figures are `report --changes`' (`reports.changes.figures_between`), read at most every FRESH_SECONDS (the
board's cache, `state.Board.changes`) like the 30-day block; the causes (a small indexed read) on every refresh, so
a cause confirmed shows within the live update. Confidential as everywhere on the board: a cause of a
confidential incident is named (the incident and the change) only to a viewer who may see that incident
(`Viewer.may_see`); to others it is counted, and the line says only that a confidential incident's cause was
confirmed, and when. The rate's rows name a project only to a viewer who may see one of its incidents (one not
confidential, or a confidential one of `Viewer.visible`); the rest are one "other projects" row, counts only
(`reports.changes.merge_hidden`). Drills' causes are left out, as drills are from the 30-day block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.reports.causes import change_shown, rate_words
from service.reports.changes import EnvironmentFigures, merge_hidden, overall, owned_figures_between
from service.store import Store
from service.store.recent_causes import ConfirmedCause, named_projects, recent_causes

from .summary import WINDOW_DAYS
from .text import own_ref, user_text

LISTED = 10  # causes on the panel
ENVIRONMENTS = 12  # rows of the rate's table; `report --changes` has them all
MaySee = Callable[[int, int, bool], bool]  # (project id, iid, confidential) -> may this viewer see it
# The figures per `<project path>/<environment>`, each row's project id, the projects of incidents anyone may see
Owned = tuple[dict[str, EnvironmentFigures], dict[str, int], frozenset[int]]


@dataclass(frozen=True)
class CauseLine:
    """One confirmed cause as this viewer may see it (neutralised; redacted when the incident is hidden)."""

    incident: str  # `acme/shop#12`, or "confidential incident"
    href: str  # the incident's page on the board ("" when redacted)
    title: str
    change: str
    when: str  # `2026-11-27 22:00 UTC`
    by: str
    redacted: bool


@dataclass(frozen=True)
class Panel:
    """The panel: the rate in words, a row per environment, the last causes."""

    rate: str
    environments: list[tuple[str, int, int, str]]  # name, deployments, caused incidents, rate
    more_environments: int
    causes: list[CauseLine]
    confirmed: int


def read_figures(store: Store, now: datetime) -> Owned:
    """The last 30 days' figures, each row's project, and the projects with an incident anyone may see (the board's
    cache calls this)."""
    figures, owners = owned_figures_between(store.engine, now - timedelta(days=WINDOW_DAYS), now)
    return figures, owners, named_projects(store.engine)


def cause_line(cause: ConfirmedCause, may_see: MaySee) -> CauseLine:
    """The cause as this viewer may see it."""
    when = f"{cause.recorded_at:%Y-%m-%d %H:%M} UTC"
    if not may_see(cause.project_id, cause.iid, cause.confidential):
        return CauseLine("confidential incident", "", "", "", when, "", True)
    project = cause.project_path or str(cause.project_id)
    return CauseLine(
        incident=own_ref(f"{project}#{cause.iid}"),
        href=f"/incidents/{project}/{cause.iid}",
        title=user_text(cause.title),
        change=change_shown(cause, user_text, own_ref),
        when=when,
        by=user_text(cause.recorded_by) if cause.recorded_by else "",
        redacted=False,
    )


def panel(owned: Owned, store: Store, may_see: MaySee, seen: frozenset[int] = frozenset()) -> Panel:
    """The panel for this viewer: the cached figures (a project's rows only when the viewer may see one of its
    incidents: one not confidential, or one of `seen`'s projects; the rest in one "other projects" row), and the
    last causes read now."""
    everyone, owners, named = owned
    figures = merge_hidden(everyone, owners, lambda project: project in named or project in seen)
    rows = [
        (user_text(name), f.deployments, f.caused_incidents, f"{f.change_failure_rate:.0%}")
        for name, f in figures.items()
    ]
    causes, confirmed = recent_causes(store.engine, limit=LISTED)
    return Panel(
        rate=rate_words(*overall(figures)),
        environments=rows[:ENVIRONMENTS],
        more_environments=max(0, len(rows) - ENVIRONMENTS),
        causes=[cause_line(c, may_see) for c in causes],
        confirmed=confirmed,
    )
