"""What a follow-up (a corrective action) is: the issue facts the bot tracks, a reference to one, and its state.

Shared by the GitLab client (`gitlab.followups` parses GitLab's issue JSON into `FollowUpIssue` and `LinkedIssue` once),
the planner (the `follow-up` command reads an `IssueRef`), the index (`store.corrective` keeps `FollowUp`
rows) and what is shown of them (`worker.corrective_text`). Dates are whole UTC days: a follow-up is
overdue from its due date on (`days_overdue` is 0 on the due date itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .events import is_incident

# `#123` or `group/sub/project#123` (GitLab's path characters); iids are positive 31-bit integers.
_REFERENCE = re.compile(r"(?:(?P<path>[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}))?#(?P<iid>[0-9]{1,10})")
MAX_IID = 2**31 - 1
_DUE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISSUE_URL = re.compile(r"/-/issues/([0-9]{1,10})$")
# The overdue pass's reminder `N` on a follow-up's issue carries this hidden marker; reindex reads it back from the
# bot's own comments only (`store.reindex_followups`), so a person's text can never count as a reminder posted.
_REMINDER = re.compile(r"<!-- incident-bot:follow-up-reminder overdue ([0-9]{1,6}) -->")
# The weekly "no owner yet" note `N` (in the review or the incident) names its follow-up's issue in its marker.
# A note naming a follow-up elsewhere: "no owner yet" in the review or incident, the manager named in the incident.
_NAMED = re.compile(
    r"<!-- incident-bot:follow-up-reminder (unowned|escalated) ([0-9]{1,19}) ([0-9]{1,10}) ([0-9]{1,6}) -->"
)
MAX_REMINDER = 999_999
# Reviews linked by hand an incident's follow-ups reach in a worker job (linked, listed, read): people who can link
# issues decide how many there are. The catch-up's cap too (`store.reindex_followups.CATCH_UP`).
REVIEWS_CAP = 5


def reminder_marker(number: int) -> str:
    """The hidden marker of overdue reminder `number` (1 on the due date, 2 a period later, ...)."""
    return f"<!-- incident-bot:follow-up-reminder overdue {min(max(number, 0), MAX_REMINDER)} -->"


def reminders_marked(bot_comments: Iterable[str]) -> int:
    """The highest overdue reminder the bot's own comments on a follow-up's issue mark (0: none)."""
    return max((int(n) for body in bot_comments for n in _REMINDER.findall(body)), default=0)


def named_marker(kind: str, project_id: int, iid: int, number: int) -> str:
    """The hidden marker of note `number` of this `kind` naming follow-up `project_id`#`iid` elsewhere: `unowned`
    ("no owner yet" in the review or incident) or `escalated` (the incident manager named in the incident)."""
    bounded = min(max(number, 0), MAX_REMINDER)
    return f"<!-- incident-bot:follow-up-reminder {kind} {project_id} {iid} {bounded} -->"


def named_marked(bot_comments: Iterable[str], kind: str, project_id: int, iid: int) -> int:
    """The highest note of this `kind` naming follow-up `project_id`#`iid` the bot's own comments mark (0: none)."""
    found = (m for body in bot_comments for m in _NAMED.findall(body))
    key = (kind, project_id, iid)
    return max((int(n) for k, pid, number, n in found if (k, int(pid), int(number)) == key), default=0)


def review_iid(review_url: str | None) -> int | None:
    """A review issue's iid from its URL (the bot opens the review in the incident's project)."""
    found = _ISSUE_URL.search(review_url or "")
    return int(found.group(1)) if found else None


def is_review(
    issue_type: str | None,
    labels: Iterable[str],
    *,
    review_labels: Iterable[str],
    follow_up_label: str,
    incident_label: str,
) -> bool:
    """An issue linked to an incident is its review when it carries a review label (`settings.review_labels`) and is
    neither an incident nor a follow-up (the one test: the worker's tracking and reindex both ask it)."""
    have = set(labels)
    return (
        bool(have & set(review_labels))
        and follow_up_label not in have
        and not is_incident(issue_type, have, incident_label)
    )


def review_may_hold(incident: tuple[int, int], incident_confidential: bool, review: LinkedIssue) -> bool:
    """Whether a review linked by hand may be the incident's review, and so show its "Follow-ups" checklist and
    "no owner yet" notes: it is in the incident's project and, for a confidential incident, confidential itself
    (a public review, or one in a project other people read, would show a confidential incident's follow-ups)."""
    return review.project_id == incident[0] and (review.confidential or not incident_confidential)


def in_followups_project(project_id: int, project_path: str, followups_project: str | None) -> bool:
    """Whether an issue is in the follow-ups' own project (`settings.followups.project`: a path or an id)."""
    elsewhere = (followups_project or "").lower()
    return bool(elsewhere) and elsewhere in (project_path.lower(), str(project_id))


def may_name(
    issue: FollowUp | FollowUpIssue,
    *,
    sees: Callable[[int, str], bool],
    confidential: bool,
    followups_project: str | None,
) -> bool:
    """Whether a follow-up's issue may be named (its title, its owner) in an incident, its reviews and its notes: its
    project in the incident's admin-only scope (`sees`: the suspects' `SuspectScope.sees`; a confidential incident's
    own project only) or the follow-ups' own project (`followups.project`), and not confidential where the text goes
    public (`confidential`: the incident's, or the issue written to). The one rule of the list, the replies, the
    "no owner yet" note, a declaration's open corrective actions and (with its own extra rule) adoption: a follow-up
    failing it is still kept in the index, and written as its reference only."""
    if issue.confidential and not confidential:
        return False
    return in_followups_project(issue.project_id, issue.project_path, followups_project) or sees(
        issue.project_id, issue.project_path
    )


@dataclass(frozen=True)
class IssueRef:
    """An issue as a person names it: in this project (`path` None) or in another."""

    path: str | None
    iid: int

    def __str__(self) -> str:
        return f"{self.path or ''}#{self.iid}"


def reference(text: str) -> IssueRef | None:
    """`#123` or `group/project#123` as an IssueRef; None for anything else (a path ending in `/` or `..`)."""
    match = _REFERENCE.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group("iid")) <= MAX_IID:
        return None
    path = match.group("path")
    if path is not None and (path.endswith(("/", ".")) or "//" in path or ".." in path):
        return None
    return IssueRef(path, int(match.group("iid")))


def due_date(text: str) -> date | None:
    """`YYYY-MM-DD` as a date between 2000 and 2999; None for anything else."""
    if not _DUE.fullmatch(text):
        return None
    try:
        found = date.fromisoformat(text)
    except ValueError:
        return None
    return found if 2000 <= found.year <= 2999 else None


@dataclass(frozen=True)
class FollowUpIssue:
    """A follow-up's issue as GitLab has it now (REST `GET /projects/:id/issues/:iid`)."""

    project_id: int
    iid: int
    title: str = ""
    url: str = ""
    state: str = "opened"
    owner: str | None = None  # the first assignee
    due_on: date | None = None
    labels: frozenset[str] = frozenset()
    confidential: bool = False
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    project_path: str = ""


@dataclass(frozen=True)
class LinkedIssue:
    """An issue linked to another (REST `GET /projects/:id/issues/:iid/links`)."""

    project_id: int
    iid: int
    title: str = ""
    url: str = ""
    labels: frozenset[str] = frozenset()
    issue_type: str = "issue"
    state: str = "opened"
    confidential: bool = False  # unknown is public: a confidential incident's list is not written there


@dataclass(frozen=True)
class FollowUp:
    """A follow-up as the index keeps it: which incident it follows up, and what its issue said last."""

    incident_project_id: int
    incident_iid: int
    project_id: int
    iid: int
    project_path: str = ""
    title: str = ""
    url: str = ""
    confidential: bool = False
    owner: str | None = None
    due_on: date | None = None
    state: str = "opened"
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    reminded: int = 0  # overdue reminders posted so far

    @property
    def ref(self) -> str:
        return f"{self.project_path}#{self.iid}" if self.project_path else f"#{self.iid}"

    def is_open(self, at: datetime) -> bool:
        """Opened before `at` and not closed by then (closed without a known time: closed)."""
        if self.opened_at is not None and self.opened_at >= at:
            return False
        if self.closed_at is not None:
            return self.closed_at >= at
        return self.state == "opened"

    def days_overdue(self, today: date) -> int | None:
        """Whole days past the due date (0 on the day itself); None when it has none or is not yet due."""
        if self.due_on is None or today < self.due_on:
            return None
        return (today - self.due_on).days
