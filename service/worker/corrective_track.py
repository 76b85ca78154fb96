"""Follow-ups in the executor, continued: a follow-up's issue changed (`TrackFollowUp`), read afresh and kept.

Called by `worker.corrective.apply_follow_ups`. An issue given the follow-up label is adopted for the incident it is
linked to, directly or through one of that incident's reviews; at most `LINKS_READ` of its linked issues are asked
for their own links (one call each: people who can link issues decide how many there are).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import is_incident
from ..plan import TrackFollowUp
from .corrective_links import incident_severity, with_due
from .corrective_lists import a_review, incident_of_review, refresh_lists, remember_reviews, store_of
from .index import index_guard

if TYPE_CHECKING:
    from .delivery import Delivery
    from .index import DeliveryIndex

LINKS_READ = 20  # linked issues whose own links are read to find the incident of a follow-up linked to a review


def track_follow_up(action: TrackFollowUp, delivery: Delivery, index: DeliveryIndex | None) -> None:
    """A follow-up's issue changed: read it afresh, keep it (or forget it), refresh its incident's lists."""
    from ..store import corrective as kept  # SQLAlchemy loads with the index, not with the worker

    event, store = delivery.event, store_of(delivery, index)
    if store is None:
        delivery.log.warning("follow-up %s#%s not tracked: the incident index is not open", event.project_id, event.iid)
        _behind(delivery, index, None, "the index is not open")
        return
    issue = delivery.gitlab.get_follow_up(event.project_id, event.iid)
    label = delivery.rules.settings.followups.label
    with index_guard(delivery.log, "", lambda why: _behind(delivery, index, None, why)) as guard:
        known = kept.find(store.engine, event.project_id, event.iid)
        if label not in issue.labels:
            gone = kept.forget(store.engine, event.project_id, event.iid)
            if gone is not None:
                refresh_lists(delivery, (gone.incident_project_id, gone.incident_iid), index)
            return
    if guard.failed:
        return
    incident = (known.incident_project_id, known.incident_iid) if known else _linked_incident(delivery, index)
    if incident is None:
        delivery.log.info("issue labelled %s but linked to no incident: not a follow-up yet", label)
        return
    if known is None:  # adopted by its label and a link: its due date by the rules, if it has none
        issue = with_due(delivery, issue, incident_severity(delivery, incident, None, index))
    with index_guard(delivery.log, "", lambda why: _behind(delivery, index, incident, why)):
        if kept.record(store.engine, incident, issue, delivery.clock()):
            refresh_lists(delivery, incident, index)


def _behind(delivery: Delivery, index: DeliveryIndex | None, incident: tuple[int, int] | None, why: str) -> None:
    """A follow-up's index write failed: its incident (else the one its links name) is recorded for the catch-up,
    which rebuilds the incident's follow-ups from GitLab (`store.reindex.reindex_issue`)."""
    found = incident or (_linked_incident(delivery, None) if index is not None else None)
    if index is not None and found is not None:
        index.behind(delivery, *found, f"follow-up {delivery.event.project_id}#{delivery.event.iid}: {why}")
    else:
        delivery.log.warning("follow-up not tracked in the index: %s", why)


def _linked_incident(delivery: Delivery, index: DeliveryIndex | None) -> tuple[int, int] | None:
    """The incident an issue is linked to: an incident itself, or the incident of a review it is linked to (a review
    linked by hand, remembered as the incident's when it may be: `corrective.review_may_hold`)."""
    event, rules = delivery.event, delivery.rules
    links = delivery.gitlab.issue_links(event.project_id, event.iid)
    for linked in links:
        if is_incident(linked.issue_type, linked.labels, rules.incident_label):
            return linked.project_id, linked.iid
    reviews = set(rules.settings.review_labels)
    candidates = [linked for linked in links if not reviews or reviews & linked.labels]
    if len(candidates) > LINKS_READ:
        delivery.log.warning(
            "follow-up %s#%s: %s linked issues may be reviews, only the first %s read for their incident",
            event.project_id,
            event.iid,
            len(candidates),
            LINKS_READ,
        )
    for linked in candidates[:LINKS_READ]:
        found = incident_of_review(delivery, linked.project_id, linked.iid)
        if found is not None:
            incident = (found.project_id, found.iid)
            if a_review(delivery, linked.issue_type, linked.labels):
                remember_reviews(delivery, incident, [linked], index, confidential=found.confidential)
            return incident
    return None
