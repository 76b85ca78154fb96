"""Changes on the board (issue 19): the "changes" panel, the last 30 days' change-failure rate and the last causes.

The figures are `report --changes`' (`reports.changes.figures_between`), read at most every FRESH_SECONDS (the
board's cache, `state.Board.changes`) like the 30-day block; the causes (a small indexed read) on every refresh, so
a cause confirmed shows within the live update. Confidential as everywhere on the board: a cause of a
confidential incident is named (the incident and the change) only to a viewer who may see that incident
(`Viewer.may_see`); to others it is counted, and the line says only that a confidential incident's cause was
confirmed, and when. Drills' causes are left out, as drills are from the 30-day block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.reports.causes import change_shown, rate_words
from service.reports.changes import EnvironmentFigures, figures_between, overall
from service.store import Store
from service.store.recent_causes import ConfirmedCause, recent_causes

from .summary import WINDOW_DAYS
from .text import own_ref, user_text

LISTED = 10  # causes on the panel
ENVIRONMENTS = 12  # rows of the rate's table; `report --changes` has them all
MaySee = Callable[[int, int, bool], bool]  # (project id, iid, confidential) -> may this viewer see it


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


def read_figures(store: Store, now: datetime) -> dict[str, EnvironmentFigures]:
    """The last 30 days' figures (the board's cache calls this)."""
    return figures_between(store.engine, now - timedelta(days=WINDOW_DAYS), now)


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


def panel(figures: dict[str, EnvironmentFigures], store: Store, may_see: MaySee) -> Panel:
    """The panel for this viewer: the cached figures, and the last causes read now."""
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
