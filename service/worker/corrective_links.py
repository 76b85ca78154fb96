"""What a new follow-up is linked to and what its description says: the incident and its reviews.

Used by `worker.corrective` when it opens or adopts a follow-up. The reviews are the one the bot opened and those
the index keeps (`corrective_lists.reviews_known`), those among the incident's links, and the review a command was
asked in. A follow-up opened in another project (`followups.project`) names them in full (`group/project#12`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..corrective import LinkedIssue
from ..text import ref
from .corrective_lists import a_review, reviews_known

if TYPE_CHECKING:
    from ..incident import IncidentState
    from .delivery import Delivery
    from .index import DeliveryIndex


def incident_reviews(
    delivery: Delivery,
    incident: tuple[int, int],
    linked: list[LinkedIssue],
    from_review: bool,
    index: DeliveryIndex | None,
) -> list[tuple[int, int]]:
    """The incident's reviews: the one the bot opened and those the index keeps, those among its links, and the
    review the command was asked in."""
    event = delivery.event
    asked = [(event.project_id, event.iid)] if from_review and a_review(delivery, None, event.labels) else []
    found = [(i.project_id, i.iid) for i in linked if a_review(delivery, i.issue_type, i.labels)]
    return list(dict.fromkeys([*reviews_known(delivery, incident, index), *asked, *found]))


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
