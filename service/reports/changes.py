"""`incident-bot report --changes`: per project and environment, successful deployments and those that caused an
incident over a window, the change-failure rate, and how soon incidents followed them (issue 19). From the index.

A deployment caused an incident when the incident's confirmed cause (`store.causes`) names it. The rate is
the deployments that caused at least one incident over the successful deployments, both in the window (by when
the deployment finished). Medians are nearest-rank, as the main report's, over the incidents those deployments
caused: minutes from the deployment to the incident's start, and from the start to its resolution.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from ..changes.hooks import Deployment
from ..store import open_store
from ..store.causes import CausedIncident, caused_incidents
from ..store.changes import deployments_between
from ..store.cli import open_index_or_exit
from ..text import csv_cell, neutralise_line
from .figures import nearest_rank

FORMATS = ("md", "csv", "json")
OTHER = "other projects"  # the one row of the projects a reader may not be shown (`merge_hidden`)
COLUMNS = (
    "environment",
    "deployments",
    "caused_incidents",
    "change_failure_rate",
    "median_minutes_to_incident",
    "median_minutes_to_restore",
)


@dataclass(frozen=True)
class EnvironmentFigures:
    """One project's environment over the window."""

    deployments: int
    caused_incidents: int  # deployments that caused at least one incident
    change_failure_rate: float
    median_minutes_to_incident: float | None
    median_minutes_to_restore: float | None


def key(d: Deployment) -> str:
    """`<project path>/<environment>` (the project's id when its path is unknown)."""
    return f"{d.project_path or d.project_id}/{d.environment}"


def _minutes(later: datetime | None, earlier: datetime | None) -> float | None:
    return None if later is None or earlier is None else (later - earlier).total_seconds() / 60


def _median(values: Iterable[float | None]) -> float | None:
    found = nearest_rank([v for v in values if v is not None], 50)
    return None if found is None else round(found, 1)


def change_figures(deployed: Iterable[Deployment], caused: Iterable[CausedIncident]) -> dict[str, EnvironmentFigures]:
    """The figures per environment from the window's successful deployments and the incidents deployments caused."""
    counts: dict[str, int] = {}
    window: set[tuple[int, int]] = set()
    for d in deployed:
        counts[key(d)] = counts.get(key(d), 0) + 1
        window.add((d.project_id, d.deployment_id))
    by_key: dict[str, list[CausedIncident]] = {}
    for c in caused:
        if (c.deployment.project_id, c.deployment.deployment_id) in window:
            by_key.setdefault(key(c.deployment), []).append(c)
    figures = {}
    for name in sorted(counts):
        incidents = by_key.get(name, [])
        failed = len({c.deployment.deployment_id for c in incidents})
        to_incident = [_minutes(c.started_at, c.deployment.status_changed_at) for c in incidents]
        figures[name] = EnvironmentFigures(
            deployments=counts[name],
            caused_incidents=failed,
            change_failure_rate=round(failed / counts[name], 4),
            median_minutes_to_incident=_median(to_incident),
            median_minutes_to_restore=_median(_minutes(c.resolved_at, c.started_at) for c in incidents),
        )
    return figures


def contract(start: datetime, end: datetime, figures: dict[str, EnvironmentFigures]) -> dict[str, Any]:
    """The JSON contract: `{"from", "to", "environments": {"<project path>/<environment>": {...}}}`."""
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "environments": {name: vars(f) for name, f in figures.items()},
    }


def render_changes(start: datetime, end: datetime, figures: dict[str, EnvironmentFigures], fmt: str) -> str:
    """The report as JSON, CSV (cells no spreadsheet runs) or Markdown (names made inert)."""
    if fmt == "json":
        return json.dumps(contract(start, end, figures), indent=2) + "\n"
    rows = [[name, *(vars(f)[c] for c in COLUMNS[1:])] for name, f in figures.items()]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([[csv_cell("" if v is None else v) for v in row] for row in rows])
        return out.getvalue()
    lines = [
        f"# Changes {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(neutralise_line(str("—" if v is None else v)) for v in row) + " |" for row in rows]
    if not rows:
        lines.append("\nNo successful deployment in the index over this window.")
    return "\n".join(lines) + "\n"


def _in_scope(d: Deployment, project: str | None, group: str | None) -> bool:
    """The deployment is of `--project` (id or path) or under `--group` (none given: every one)."""
    if project:
        return str(d.project_id) == project if project.isdigit() else d.project_path == project.strip("/")
    return not group or d.project_path.startswith(group.strip("/") + "/")


def figures_between(
    engine: Engine, start: datetime, end: datetime, project: str | None = None, group: str | None = None
) -> dict[str, EnvironmentFigures]:
    """The figures over [start, end) from the index: what `report --changes`, the digest and the board show."""
    return owned_figures_between(engine, start, end, project, group)[0]


def owned_figures_between(
    engine: Engine, start: datetime, end: datetime, project: str | None = None, group: str | None = None
) -> tuple[dict[str, EnvironmentFigures], dict[str, int]]:
    """`figures_between`'s figures, and the project (id) of each row, for `merge_hidden`."""
    deployed = [d for d in deployments_between(engine, start, end) if _in_scope(d, project, group)]
    return change_figures(deployed, caused_incidents(engine)), {key(d): d.project_id for d in deployed}


def merge_hidden(
    figures: dict[str, EnvironmentFigures], owners: Mapping[str, int], shown: Callable[[int], bool]
) -> dict[str, EnvironmentFigures]:
    """The rows of the projects `shown` names, and the rest merged into one `OTHER` row (counts only): a project's
    path and environments say what it is, and a reader of the board or the digest may not know it exists."""
    kept = {name: f for name, f in figures.items() if shown(owners.get(name, 0))}
    hidden = [f for name, f in figures.items() if name not in kept]
    if hidden:
        deployed, failed = sum(f.deployments for f in hidden), sum(f.caused_incidents for f in hidden)
        kept[OTHER] = EnvironmentFigures(deployed, failed, round(failed / deployed, 4) if deployed else 0.0, None, None)
    return kept


def overall(figures: dict[str, EnvironmentFigures]) -> tuple[int, int, float | None]:
    """(successful deployments, those that caused an incident, the rate) over every environment of `figures`."""
    deployed = sum(f.deployments for f in figures.values())
    failed = sum(f.caused_incidents for f in figures.values())
    return deployed, failed, round(failed / deployed, 4) if deployed else None


def changes_text(start: datetime, end: datetime, fmt: str, project: str | None, group: str | None) -> str:
    """`report --changes` over [start, end) from the index, in `fmt`."""
    store = open_index_or_exit(open_store)
    return render_changes(start, end, figures_between(store.engine, start, end, project, group), fmt)
