"""What a new follow-up is linked to and what its description says: the incident and its reviews.

Used by `worker.corrective` when it opens or adopts a follow-up. The reviews are the one the bot opened and those
the index keeps (`corrective_lists.reviews_known`), those among the incident's links, and the review a command was
asked in, when they may be its review (`corrective.review_may_hold`). A follow-up opened in another project
(`followups.project`) names them in full (`group/project#12`). Also its due date by the incident's severity, and
which existing issue may be adopted (`may_adopt`), by the incident's scope as the command sees it (`scope_here`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..changes.suspects import SuspectScope, scope_of
from ..corrective import FollowUpIssue, LinkedIssue, review_may_hold
from ..text import ref
from .corrective_lists import a_review, capped, reviews_known, store_of
from .index import index_guard
from .scope import follow_up_names, incident_scope

if TYPE_CHECKING:
    from ..incident import IncidentState
    from .delivery import Delivery
    from .index import DeliveryIndex


def incident_reviews(
    delivery: Delivery,
    incident: tuple[int, int],
    linked: list[LinkedIssue],
    asked: LinkedIssue | None,
    index: DeliveryIndex | None,
    *,
    confidential: bool,
) -> list[tuple[int, int]]:
    """The incident's reviews: the one the bot opened and those the index keeps, those among its links, and the
    review the command was `asked` in (those two when they may be its review: `corrective.review_may_hold`); at most
    `corrective.REVIEWS_CAP` (`corrective_lists.capped`)."""
    found = [i for i in (asked, *linked) if i is not None and a_review(delivery, i.issue_type, i.labels)]
    fit = [(i.project_id, i.iid) for i in found if review_may_hold(incident, confidential, i)]
    known = reviews_known(delivery, incident, index)  # the bot's own review first, if it opened one
    return capped(delivery, incident, list(dict.fromkeys([*known, *fit])))


def with_due(delivery: Delivery, issue: FollowUpIssue, severity: int | None) -> FollowUpIssue:
    """The follow-up with the rules' due date for the incident's severity, set in GitLab when it has none."""
    days = delivery.rules.settings.followups.due_in(severity)
    if issue.due_on is not None or days is None:
        return issue
    due = ((issue.opened_at or delivery.clock()) + timedelta(days=days)).date()
    delivery.gitlab.edit_follow_up(issue.project_id, issue.iid, due_on=due)
    return FollowUpIssue(**{**vars(issue), "due_on": due})


def incident_severity(
    delivery: Delivery, incident: tuple[int, int], planned: int | None, index: DeliveryIndex | None
) -> int | None:
    """The incident's highest severity: the index's, or as planned (1 is the highest)."""
    known = None
    store = store_of(delivery, index)
    if store is not None:
        with index_guard(delivery.log, "incident index not read for a follow-up's due date"):
            row = store.incident(*incident)
            known = row.highest_severity if row is not None else None
    levels = [level for level in (known, planned) if level is not None]
    return min(levels) if levels else None


def follow_up_description(
    elsewhere: str | None, incident: tuple[int, int], where: tuple[str, str], review: tuple[int, int] | None
) -> str:
    """The new issue's description: a link to the incident and to its review. In the incident's project `#12`;
    opened elsewhere (`followups.project`), `group/project#12`, since `#12` would name another issue there."""
    path, url = where
    named = None if elsewhere is None else path  # the bot's own references: live
    text = f"A follow-up (corrective action) of incident {ref(named, '#', incident[1], url)}"
    if review is not None and review[0] == incident[0]:  # a review in the incident's project: its URL is known
        same = url.endswith(f"/issues/{incident[1]}")
        review_url = url.rsplit("/", 1)[0] + f"/{review[1]}" if same else ""
        text += f" and of its review {ref(named, '#', review[1], review_url)}"
    return text + ", opened by incident-bot."


def incident_issue(delivery: Delivery, state: IncidentState, incident: tuple[int, int]) -> tuple[str, str, bool]:
    """The incident's project path, URL and confidentiality: the delivery's issue, or (asked in a review) read."""
    if (state.issue.project_id, state.issue.iid) == incident:
        return delivery.event.project_path or "", state.issue.web_url, state.issue.confidential
    found = delivery.gitlab.get_follow_up(*incident)
    return found.project_path, found.url, found.confidential


def scope_here(delivery: Delivery, state: IncidentState, incident: tuple[int, int], confidential: bool) -> SuspectScope:
    """The incident's admin-only scope (`worker.scope.incident_scope`; asked in a review, the incident's project and
    those its areas share)."""
    event, now = delivery.event, delivery.clock()
    if (event.project_id, event.iid) == incident:
        return incident_scope(delivery, state.issue, now, confidential)
    path = incident_issue(delivery, state, incident)[0]
    return scope_of(delivery.rules, incident[0], path, now, confidential)


def may_adopt(
    delivery: Delivery,
    state: IncidentState,
    about: tuple[tuple[int, int], bool],
    issue: FollowUpIssue,
    index: DeliveryIndex | None,
) -> bool:
    """Whether an issue may be adopted as the follow-up of incident `about` (its key, and whether it is
    confidential): one its readers may be shown (`corrective.may_name`, in the incident's scope or in
    `followups.project`), and a confidential one only for a confidential incident of its own project, or when the
    index already keeps it for this incident: a Developer may not walk another project's confidential issues
    through the reply, nor move a follow-up away from its incident. The bot's token reads more than the person
    asking may."""
    incident, confidential = about
    scope = scope_here(delivery, state, incident, confidential)
    if not follow_up_names(delivery, scope, confidential)(issue):
        return False
    return not issue.confidential or issue.project_id == incident[0] or _kept_for(delivery, incident, issue, index)


def _kept_for(delivery: Delivery, incident: tuple[int, int], issue: FollowUpIssue, index: DeliveryIndex | None) -> bool:
    """Whether the index keeps this issue as a follow-up of this incident (cannot be read: not)."""
    from ..store.corrective import find  # SQLAlchemy loads with the index, not with the worker

    store = store_of(delivery, index)
    if store is None:
        return False
    with index_guard(delivery.log, "incident index not read for a follow-up's adoption") as guard:
        known = find(store.engine, issue.project_id, issue.iid)
    if guard.failed or known is None:
        return False
    return (known.incident_project_id, known.incident_iid) == incident
