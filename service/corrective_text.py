"""What the bot says of follow-ups: the checklist kept current, replies, overdue reminders, the next incident's memory.

Pure functions of `FollowUp` rows: every title goes through `service.text` (a link only to a plain http(s) URL),
so a hostile title cannot mention, run a quick action or break the list. A follow-up that may not be named where
the text goes (`shown` false: `corrective.may_name`, a confidential one in a public issue, one of a project outside
the incident's scope) is its bare reference and "(confidential)" or "(not shown here)": no title, no owner (as the
board redacts it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from .corrective import FollowUp
from .text import mention, neutralise_line, ref_text

LIST_MARKER = "<!-- incident-bot:follow-ups -->"
MEMORY_LIMIT = 10  # open corrective actions listed on a new declaration


def _owner(fu: FollowUp) -> str:
    return mention(fu.owner) if fu.owner else "**no owner yet**"


def _due(fu: FollowUp, today: date) -> str:
    if fu.due_on is None:
        return "no due date"
    late = fu.days_overdue(today) if fu.state == "opened" else None
    if late is None:
        return f"due {fu.due_on:%Y-%m-%d}"
    return f"due {fu.due_on:%Y-%m-%d}, **overdue{f' {late} days' if late else ' today'}**"


def everything(fu: FollowUp) -> bool:
    """Every follow-up may be named (text for the index's own readers: a report, a test)."""
    return True


def _named(fu: FollowUp, shown: bool) -> str:
    """Its link and title, and its owner; one that may not be named here (`corrective.may_name`) its link only."""
    if not shown:
        return f"{ref_text(fu.ref, fu.url)} ({'confidential' if fu.confidential else 'not shown here'}) —"
    return f"{ref_text(fu.ref, fu.url)} {neutralise_line(fu.title)} — {_owner(fu)},"


def line(fu: FollowUp, today: date, *, shown: bool = True) -> str:
    """One follow-up: its link and title, owner, due date (and how late); `shown`: whether it may be named here."""
    if fu.state == "closed":
        closed = f"closed {fu.closed_at:%Y-%m-%d}" if fu.closed_at else "closed"
        return f"- [x] {_named(fu, shown)} {closed}"
    return f"- [ ] {_named(fu, shown)} {_due(fu, today)}"


def checklist(rows: Sequence[FollowUp], today: date, *, shown: Callable[[FollowUp], bool] = everything) -> str:
    """The "Follow-ups" note of an incident and its review, kept current in place by the bot."""
    done = sum(1 for fu in rows if fu.state == "closed")
    head = f"**Follow-ups** (corrective actions): {done} of {len(rows)} done. Kept current by incident-bot."
    return "\n".join([head, "", *(line(fu, today, shown=shown(fu)) for fu in rows), "", LIST_MARKER])


def reply(fu: FollowUp, verb: str, today: date, unknown_owner: str | None = None, *, shown: bool = True) -> str:
    """The answer in the incident: which issue, its owner (or that it has none yet) and its due date."""
    text = f"Follow-up {verb}: {_named(fu, shown)} {_due(fu, today)}."
    if unknown_owner:
        text += f" ({neutralise_line('@' + unknown_owner)} is not a GitLab user: assign someone.)"
    return text


def incident_ref(fu: FollowUp, path: str, here: int) -> str:
    """The follow-up's incident as named in an issue of project `here`: `#12` in its own project, else
    `group/project#12` (`path`: the incident's project; unknown, its project's id is said in words)."""
    if here == fu.incident_project_id:
        return f"#{fu.incident_iid}"
    return f"{path}#{fu.incident_iid}" if path else f"#{fu.incident_iid} of project {fu.incident_project_id}"


def reminder(fu: FollowUp, today: date, manager: str | None, incident: str | None) -> str:
    """The overdue comment on the follow-up's issue: the owner named, and the incident manager once escalated.

    `incident`: its reference as seen from the follow-up's issue (`incident_ref`); None says nothing of it (a
    confidential incident's public follow-up: neither the incident nor its manager is named there)."""
    late = fu.days_overdue(today) or 0
    when = "is due today" if late == 0 else f"is {late} days overdue (due {fu.due_on:%Y-%m-%d})"
    of = f" of incident {incident}" if incident else ""
    text = f"{_owner(fu)}: this follow-up{of} {when}."
    text += " Close it when done, or agree a new date."
    if manager:
        text += f"\n\n{mention(manager)} (incident manager of the incident): please help it get done."
    return text


def escalation(fu: FollowUp, today: date, manager: str, *, shown: bool = True) -> str:
    """In the incident: its manager named for an overdue follow-up whose own issue may not name the incident; its
    owner only when the incident may name the follow-up (`shown`, `corrective.may_name`)."""
    late = fu.days_overdue(today) or 0
    owner = _owner(fu) if shown else "its owner not shown here"
    return (
        f"{mention(manager)} (incident manager): the follow-up {ref_text(fu.ref, fu.url)} of this incident is "
        f"{late} days overdue ({owner}); please help it get done."
    )


def unowned(rows: Sequence[FollowUp], today: date, *, shown: Callable[[FollowUp], bool] = everything) -> str:
    """In the review (or the incident): the follow-ups nobody owns yet."""
    lines = "\n".join(line(fu, today, shown=shown(fu)) for fu in rows)
    return f"These follow-ups have **no owner yet**; assign each to someone:\n\n{lines}"


def open_in_area(rows: Sequence[tuple[FollowUp, str, str]], today: date) -> str:
    """The declaration's "open corrective actions in this area" section ('' when there are none).

    `rows`: an open follow-up of an earlier incident, that incident's reference as seen from the declared one
    (`incident_ref`), and why it is listed (its area or category).
    """
    if not rows:
        return ""
    shown = [f"{line(fu, today)} (from incident {ref}; {why})" for fu, ref, why in rows[:MEMORY_LIMIT]]
    more = f"\n- … and {len(rows) - MEMORY_LIMIT} more" if len(rows) > MEMORY_LIMIT else ""
    return "**Open corrective actions in this area** (from earlier incidents):\n\n" + "\n".join(shown) + more
