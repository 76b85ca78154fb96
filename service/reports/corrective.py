"""`incident-bot report --follow-ups`: open, overdue, closed and the median days to close, from the index (issue 20).

Over a window [from, to): a follow-up is **open** when it was opened before `to` and not closed by then;
**overdue** when open and its due date is on or before the window's last day (the overdue pass's rule);
**closed** when it closed within the window; **median_days_to_close** is the median, over those closed in
the window, of the days from opening to closing (one decimal; null when none closed). Grouped by the
incident's highest severity, its area, the owner's team (the first team whose rotation has the owner) or
the owner; `none` when unknown. Computed in Python from the rows, so SQLite and PostgreSQL agree exactly.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ..corrective import FollowUp
from ..rules import RuleSet
from ..store.corrective import IncidentFacts
from ..text import csv_cell

GROUPINGS = ("severity", "area", "team", "owner")
NONE = "none"


def team_of(owner: str | None, rules: RuleSet) -> str | None:
    """The first team (in the rules' order) whose rotation lists the owner."""
    for name, team in rules.teams.items():
        rotation = rules.rotations.get(team.rotation)
        if owner and rotation is not None and owner in rotation.members:
            return name
    return None


def _key(by: str, fu: FollowUp, facts: IncidentFacts | None, rules: RuleSet) -> str:
    if by == "severity":
        found: Any = facts.severity if facts is not None else None
    elif by == "area":
        found = facts.area if facts is not None else None
    elif by == "team":
        found = team_of(fu.owner, rules)
    else:
        found = fu.owner
    return NONE if found is None else str(found)


def _days(fu: FollowUp) -> float:
    assert fu.closed_at is not None and fu.opened_at is not None
    return (fu.closed_at - fu.opened_at).total_seconds() / 86400


def figures(
    rows: Sequence[tuple[FollowUp, IncidentFacts | None]], start: datetime, end: datetime, by: str, rules: RuleSet
) -> dict[str, Any]:
    """The report's JSON contract: `{"from","to","open","overdue","groups":{key:{...}}}`."""
    last_day = (end - timedelta(microseconds=1)).date()
    groups: dict[str, dict[str, Any]] = {}
    spans: dict[str, list[float]] = {}
    total_open = total_overdue = 0
    for fu, facts in rows:
        is_open = fu.is_open(end)
        closed = fu.closed_at is not None and start <= fu.closed_at < end
        if not is_open and not closed:
            continue
        key = _key(by, fu, facts, rules)
        group = groups.setdefault(key, {"open": 0, "overdue": 0, "closed": 0, "median_days_to_close": None})
        late = is_open and fu.days_overdue(last_day) is not None
        group["open"] += int(is_open)
        group["overdue"] += int(late)
        total_open, total_overdue = total_open + int(is_open), total_overdue + int(late)
        if closed and fu.opened_at is not None:
            group["closed"] += 1
            spans.setdefault(key, []).append(_days(fu))
    for key, days in spans.items():
        groups[key]["median_days_to_close"] = round(statistics.median(days), 1)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "open": total_open,
        "overdue": total_overdue,
        "groups": dict(sorted(groups.items())),
    }


def render(report: dict[str, Any], fmt: str, by: str) -> str:
    """JSON (the contract), CSV (a row per group, then `(all)`) or a Markdown table."""
    if fmt == "json":
        return json.dumps(report, indent=2) + "\n"
    if fmt == "csv":
        return _csv(report, by)
    lines = [
        f"# Follow-ups {report['from'][:10]} to {report['to'][:10]}",
        "",
        f"Open: {report['open']}, overdue: {report['overdue']}.",
        "",
        f"| {by} | open | overdue | closed | median days to close |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, g in report["groups"].items():
        median = "" if g["median_days_to_close"] is None else g["median_days_to_close"]
        lines.append(f"| {key.replace('|', '/')} | {g['open']} | {g['overdue']} | {g['closed']} | {median} |")
    return "\n".join(lines) + "\n"


def _csv(report: dict[str, Any], by: str) -> str:
    """A row per group and an `(all)` row (no group is named so; its median empty: medians do not add up)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["from", "to", by, "open", "overdue", "closed", "median_days_to_close"])
    window = (report["from"], report["to"])
    for key, g in report["groups"].items():
        median = "" if g["median_days_to_close"] is None else g["median_days_to_close"]
        writer.writerow([*window, csv_cell(key), g["open"], g["overdue"], g["closed"], median])
    closed = sum(g["closed"] for g in report["groups"].values())
    writer.writerow([*window, "(all)", report["open"], report["overdue"], closed, ""])
    return out.getvalue()
