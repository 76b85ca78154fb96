"""Follow-ups on the board (issue 20): the "overdue follow-ups" panel and an incident page's follow-ups, from the index.

Confidential as everywhere on the board: a follow-up of a confidential incident is shown only to a viewer who may
see that incident (`Viewer.may_see`); a follow-up whose own issue is confidential is never named (the sign-in
check lists confidential incidents, not their follow-ups), only its state, due date and lateness.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from service.corrective import FollowUp
from service.store import IncidentRow, Store
from service.store.corrective import IncidentFacts, of_incident, with_incidents

from .text import own_ref, user_text

REDACTED = "confidential follow-up"
MAX_PANEL = 50  # the panel's rows; the report has them all
MaySee = Callable[[int, int, bool], bool]  # (project id, iid, confidential) -> may this viewer see it


@dataclass(frozen=True)
class Incident:
    """What a follow-up's line needs of its incident (an incident the index lacks: no path, not confidential)."""

    project_path: str = ""
    confidential: bool = False

    @classmethod
    def of(cls, facts: IncidentFacts | None) -> Incident:
        return cls(facts.project_path, facts.confidential) if facts is not None else cls()


@dataclass(frozen=True)
class FollowUpLine:
    """One follow-up as a page shows it (neutralised, redacted as the viewer requires)."""

    ref: str  # `group/project#12` ("" when redacted)
    url: str  # its GitLab issue ("" when redacted or not a plain http(s) URL)
    title: str
    owner: str  # "" when it has none (or redacted)
    due: str  # `2026-11-20` or ""
    state: str  # open, closed
    overdue_days: int | None  # whole days past the due date while open (0: due today)
    redacted: bool
    incident: str  # the incident's reference, or "confidential incident" when the viewer may not see it
    incident_href: str  # the incident's page on the board


def follow_up_line(fu: FollowUp, incident: Incident, may_see: MaySee, today: date) -> FollowUpLine:
    """The follow-up as this viewer may see it on `today` (`incident`: its incident's path and confidentiality)."""
    incident_seen = may_see(fu.incident_project_id, fu.incident_iid, incident.confidential)
    shown = incident_seen and not fu.confidential
    project = incident.project_path or str(fu.incident_project_id)
    url = fu.url if shown and fu.url.startswith(("https://", "http://")) else ""
    return FollowUpLine(
        ref=own_ref(fu.ref if fu.project_path else f"{fu.project_id}#{fu.iid}") if shown else "",
        url=url,
        title=user_text(fu.title) if shown else "",
        owner=user_text(fu.owner) if shown and fu.owner else "",
        due=f"{fu.due_on:%Y-%m-%d}" if fu.due_on is not None else "",
        state="open" if fu.state == "opened" else "closed",
        overdue_days=fu.days_overdue(today) if fu.state == "opened" else None,
        redacted=not shown,
        incident=own_ref(f"{project}#{fu.incident_iid}") if incident_seen else "confidential incident",
        incident_href=f"/incidents/{project}/{fu.incident_iid}",
    )


def overdue_panel(store: Store, today: date, may_see: MaySee, limit: int = MAX_PANEL) -> tuple[list[FollowUpLine], int]:
    """The open follow-ups due on or before `today`, most overdue first (at most `limit`), and how many in all."""
    rows = with_incidents(store.engine, open_only=True)
    late = [(fu, facts) for fu, facts in rows if fu.days_overdue(today) is not None]
    late.sort(key=lambda pair: (pair[0].due_on, pair[0].project_id, pair[0].iid))
    return [follow_up_line(fu, Incident.of(facts), may_see, today) for fu, facts in late[:limit]], len(late)


def of_page(store: Store, row: IncidentRow, may_see: MaySee, today: date) -> Sequence[FollowUpLine]:
    """An incident's follow-ups for its page, in the order they were opened."""
    incident = Incident(row.project_path, row.confidential)
    return [follow_up_line(fu, incident, may_see, today) for fu in of_incident(store.engine, row.project_id, row.iid)]
