"""The weekly digest's changes (issue 19): the week's change-failure rate and the causes confirmed that week.

The figures are `report --changes`' (`reports.changes.figures_between`), over the digest's 7 days. The digest goes
to another project's issue and to channels, so a cause of a confidential incident is counted but names nothing
(not the incident, nor the change): the follow-ups' policy (`digest_followups`). Its table names a project only
when the digest may name one of its incidents (by that policy); the other projects' rows are one "other projects"
row, counts only (`reports.changes.merge_hidden`). Drills' causes are left out, as
drills are from the rest of the digest. Every name and title goes through `service.text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from ..store.recent_causes import ConfirmedCause, named_projects, recent_causes
from ..text import neutralise_line, ref_text
from .causes import CONFIDENTIAL, change_shown, rate_words
from .changes import EnvironmentFigures, merge_hidden, overall, owned_figures_between

HEADING = "## Changes this week"
LISTED = 10  # causes named; the rest counted
ENVIRONMENTS = 20  # rows of the table; `report --changes` has them all


@dataclass(frozen=True)
class WeekChanges:
    """What the digest says of the week's changes."""

    figures: dict[str, EnvironmentFigures]
    causes: list[ConfirmedCause]
    confirmed: int  # causes confirmed in the week, listed or not


def week_changes(engine: Engine, start: datetime, end: datetime) -> WeekChanges:
    """The week's figures (a project's rows only when the digest may name one of its incidents: neither confidential
    nor a drill; the rest one "other projects" row) and the causes confirmed in it (newest first)."""
    causes, confirmed = recent_causes(engine, since=start, until=end, limit=LISTED)
    figures, owners = owned_figures_between(engine, start, end)
    named = named_projects(engine, drills=False)
    return WeekChanges(merge_hidden(figures, owners, named.__contains__), causes, confirmed)


def _line(cause: ConfirmedCause) -> str:
    when = f"{cause.recorded_at:%Y-%m-%d}"
    if cause.confidential:
        return f"- {CONFIDENTIAL}, confirmed {when}"
    ref = f"{cause.project_path or cause.project_id}#{cause.iid}"  # never a bare `#12`: another project's issue
    by = f" by {neutralise_line(cause.recorded_by)}" if cause.recorded_by else ""
    change = change_shown(cause, neutralise_line, ref_text)
    return f"- {ref_text(ref, cause.url)} {neutralise_line(cause.title)}: {change}, confirmed {when}{by}"


def section(week: WeekChanges) -> str:
    """The reporting issue's section: the rate, per environment, and the causes confirmed this week."""
    parts = [HEADING, "", f"Change-failure rate: {rate_words(*overall(week.figures))}."]
    if week.figures:
        parts += [
            "",
            "| environment | deployments | caused incidents | change-failure rate |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, f in list(week.figures.items())[:ENVIRONMENTS]:
            parts.append(
                f"| {neutralise_line(name)} | {f.deployments} | {f.caused_incidents} | {f.change_failure_rate:.0%} |"
            )
        if len(week.figures) > ENVIRONMENTS:
            parts.append(f"\n{len(week.figures) - ENVIRONMENTS} more environments: `incident-bot report --changes`.")
    parts += ["", "### Causes confirmed this week", ""]
    if not week.confirmed:
        parts.append("None.")
        return "\n".join(parts)
    parts += [_line(c) for c in week.causes]
    if week.confirmed > len(week.causes):
        parts.append(f"- and {week.confirmed - len(week.causes)} more")
    return "\n".join(parts)


def clause(week: WeekChanges) -> str:
    """The summary's words for channels: the rate and how many causes were confirmed, nothing named."""
    deployed, failed, rate = overall(week.figures)
    shown = "—" if rate is None else f"{rate:.0%} ({failed} of {deployed} deployments)"
    return f"change-failure rate {shown}; causes confirmed {week.confirmed}"
