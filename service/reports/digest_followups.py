"""The weekly digest's overdue follow-ups by team (issue 20): a section of the reporting issue, a summary clause.

The digest goes to another project's issue and to channels, which more people can read than an incident: a
follow-up whose own issue or whose incident is confidential is counted in its team but named by nothing (not its
title, reference, owner or incident). Owners are shown by name, never mentioned (the digest pings nobody), and
every title goes through `service.text`. Overdue is the overdue pass's rule: open, due on or before today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..corrective import FollowUp
from ..rules import RuleSet
from ..store.corrective import IncidentFacts
from ..text import neutralise_line, ref_text
from .corrective import NONE, team_of

CONFIDENTIAL = "confidential follow-up"
HEADING = "## Overdue follow-ups by team"


@dataclass(frozen=True)
class Overdue:
    """One overdue follow-up as the digest may show it."""

    team: str
    days: int
    follow_up: FollowUp
    confidential: bool


def overdue(rows: Sequence[tuple[FollowUp, IncidentFacts | None]], rules: RuleSet, today: date) -> list[Overdue]:
    """The open follow-ups due on or before `today`, by team (rules' order, `none` last), most overdue first."""
    order = {name: i for i, name in enumerate(rules.teams)}
    found = []
    for fu, facts in rows:
        late = fu.days_overdue(today) if fu.state == "opened" else None
        if late is None:
            continue
        secret = fu.confidential or facts is None or facts.confidential  # an incident not indexed yet: unknown
        found.append(Overdue(team_of(fu.owner, rules) or NONE, late, fu, secret))
    found.sort(key=lambda o: (order.get(o.team, len(order)), -o.days, o.follow_up.project_id, o.follow_up.iid))
    return found


def _teams(items: Sequence[Overdue]) -> dict[str, list[Overdue]]:
    teams: dict[str, list[Overdue]] = {}
    for item in items:
        teams.setdefault(item.team, []).append(item)
    return teams


def _late(days: int) -> str:
    return "due today" if days == 0 else f"{days} days overdue"


def _line(item: Overdue) -> str:
    if item.confidential:
        return f"- {CONFIDENTIAL}, {_late(item.days)}"
    fu = item.follow_up
    ref = f"{fu.project_path or fu.project_id}#{fu.iid}"  # never a bare `#12`: the digest is another project's issue
    owner = neutralise_line(fu.owner) if fu.owner else "no owner yet"
    title = neutralise_line(fu.title)
    return f"- {ref_text(ref, fu.url)} {title} — {owner}, due {fu.due_on}, {_late(item.days)}"


def section(items: Sequence[Overdue]) -> str:
    """The reporting issue's section: per team, its count and each follow-up (confidential ones unnamed)."""
    if not items:
        return f"{HEADING}\n\nNone: every open follow-up is within its due date."
    parts = [HEADING, "", f"**{len(items)}** follow-ups are overdue. Owners are named, not mentioned."]
    for team, listed in _teams(items).items():
        shown = "no team (owner in no team's rotation, or no owner)" if team == NONE else neutralise_line(team)
        parts += ["", f"### {shown}: {len(listed)}", "", *(_line(item) for item in listed)]
    return "\n".join(parts)


def clause(items: Sequence[Overdue]) -> str:
    """The summary's words for channels: the count per team, nothing named."""
    if not items:
        return "overdue follow-ups 0"
    teams = ", ".join(f"{team} {len(listed)}" for team, listed in _teams(items).items())  # the rules' names
    return f"overdue follow-ups {len(items)} ({teams})"
