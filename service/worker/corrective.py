"""Follow-ups in the executor: open or adopt one (the `follow-up` command), track one's issue, keep lists current.

One function per action type (`OpenFollowUp`, `AdoptFollowUp`, `TrackFollowUp`), called by `apply_follow_ups`
from the executor before the delivery's note: each returns the reply it adds to that note. GitLab is the
source of truth: a follow-up is read back from its issue (a fresh read, so a redelivered or reordered hook
records the same thing), then kept in the index (`store.corrective`), then the "Follow-ups" checklist of
the incident and its review is rewritten in place (`lists`). The index never fails a delivery (`index_guard`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from .. import corrective_text as say
from ..corrective import FollowUp, FollowUpIssue, LinkedIssue
from ..events import is_incident
from ..gitlab import PermanentGitLabError
from ..plan import AdoptFollowUp, OpenFollowUp, Plan, TrackFollowUp
from ..text import neutralise_line
from .corrective_links import (
    follow_up_description,
    incident_issue,
    incident_reviews,
    incident_severity,
    may_adopt,
    scope_here,
    with_due,
)
from .corrective_lists import a_review, incident_of_review, refresh_lists, remember_reviews, store_of
from .corrective_track import track_follow_up
from .index import index_guard
from .scope import follow_up_names

if TYPE_CHECKING:
    from ..incident import IncidentState
    from .delivery import Delivery
    from .index import DeliveryIndex

OPENED_TTL = 7 * 86400  # seconds: longer than RQ retries a delivery
NO_INCIDENT = "This issue is no incident and is linked to none, so there is nothing to follow up here."
# An issue the bot cannot read and one it may not adopt get the same words: the reply says nothing of whether
# an issue exists beyond what was typed (`corrective_links.may_adopt`).
NOT_FOUND = (
    "I cannot find issue `{}` (or I may not see it), so it is not a follow-up. I take only an issue in this "
    "incident's project or one its areas share, and a confidential one only for a confidential incident of its project."
)


def apply_follow_ups(
    plan: Plan, delivery: Delivery, state: IncidentState, body: str, index: DeliveryIndex | None
) -> str:
    """Carry out the plan's follow-up actions; the delivery's note with their replies added."""
    replies = []
    for opening in plan.of(OpenFollowUp)[:1]:
        replies.append(open_follow_up(opening, delivery, state, index))
    for adopting in plan.of(AdoptFollowUp)[:1]:
        replies.append(adopt_follow_up(adopting, delivery, state, index))
    for tracking in plan.of(TrackFollowUp)[:1]:
        track_follow_up(tracking, delivery, index)
    return "\n\n".join(part for part in (body, *replies) if part)


def _incident(
    delivery: Delivery, state: IncidentState, from_review: bool, index: DeliveryIndex | None
) -> tuple[tuple[int, int], bool, LinkedIssue | None] | None:
    """The incident a command is about, whether it is confidential, and the review the command was asked in: the
    issue itself, or the one its review is linked to (a review linked by hand is remembered as the incident's, so
    its list is kept too, when it may be: `corrective.review_may_hold`)."""
    event = delivery.event
    if not from_review:
        return (event.project_id, event.iid), state.issue.confidential, None
    found = incident_of_review(delivery, event.project_id, event.iid)
    if found is None:
        return None
    incident = (found.project_id, found.iid)
    asked = LinkedIssue(event.project_id, event.iid, labels=event.labels, confidential=state.issue.confidential)
    if a_review(delivery, None, event.labels):
        remember_reviews(delivery, incident, [asked], index, confidential=found.confidential)
    return incident, found.confidential, asked


def open_follow_up(action: OpenFollowUp, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> str:
    """Open the follow-up issue (or find the one a killed attempt opened), link it, keep it; the reply."""
    about = _incident(delivery, state, action.from_review, index)
    if about is None:
        return NO_INCIDENT
    incident, secret, asked = about
    client, settings = delivery.gitlab, delivery.rules.settings.followups
    linked = client.issue_links(*incident)
    found = next(
        ((i.project_id, i.iid) for i in linked if i.title == action.title and settings.label in i.labels), None
    )
    found = found or _opened_before(delivery)
    if found is not None:  # a retry after the issue was opened (and linked, or not yet): reply about that one
        issue = client.get_follow_up(*found)
        reviews = incident_reviews(delivery, incident, linked, asked, index, confidential=secret)
        return _keep(delivery, incident, issue, index, "opened", (linked, reviews, secret), here=state)
    owner_id = client.user_id(action.owner) if action.owner else None
    severity = incident_severity(delivery, incident, action.severity, index)
    days = settings.due_in(severity)
    due = action.due_on or ((delivery.clock() + timedelta(days=days)).date() if days is not None else None)
    path, url, confidential = incident_issue(delivery, state, incident)
    secret = secret or confidential
    reviews = incident_reviews(delivery, incident, linked, asked, index, confidential=secret)
    description = follow_up_description(settings.project, incident, (path, url), next(iter(reviews), None))
    try:
        issue = client.open_follow_up(
            settings.project or incident[0],
            action.title,
            description,
            [settings.label],
            assignee_id=owner_id,
            due_on=due,
            confidential=secret,  # a confidential incident's follow-up names it: confidential too
        )
    except PermanentGitLabError as exc:
        delivery.log.warning("follow-up not opened for %s#%s: %s", *incident, exc)
        return f"The follow-up could not be opened ({neutralise_line(str(exc))}); please open it by hand."
    _remember_opened(delivery, issue)
    unknown = action.owner if action.owner and owner_id is None else None
    return _keep(delivery, incident, issue, index, "opened", (linked, reviews, secret), unknown, here=state)


def _opened_before(delivery: Delivery) -> tuple[int, int] | None:
    """The issue an earlier attempt of this comment opened (its job failed before linking it), if Redis kept it."""
    note, redis = delivery.event.note_id, delivery.redis
    try:
        raw = redis.get(delivery.keys.follow_up_opened(delivery.event.project_id, note)) if note and redis else None
    except RedisError:
        return None
    project, _, iid = (raw.decode() if isinstance(raw, bytes) else str(raw or "")).partition(":")
    return (int(project), int(iid)) if project.isdigit() and iid.isdigit() else None


def _remember_opened(delivery: Delivery, issue: FollowUpIssue) -> None:
    """Keep which issue this comment opened, before linking it: a retry finds it even if the link never happened."""
    note = delivery.event.note_id
    try:
        if note and delivery.redis is not None:
            key = delivery.keys.follow_up_opened(delivery.event.project_id, note)
            delivery.redis.set(key, f"{issue.project_id}:{issue.iid}", ex=OPENED_TTL)
    except RedisError as exc:
        delivery.log.warning("the follow-up opened is not remembered (a retry may open another): %s", exc)


def adopt_follow_up(
    action: AdoptFollowUp, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None
) -> str:
    """Make an existing issue a follow-up: the label, a link to the incident, its due date; the reply."""
    about = _incident(delivery, state, action.from_review, index)
    if about is None:
        return NO_INCIDENT
    incident, secret, asked = about
    client, label = delivery.gitlab, delivery.rules.settings.followups.label
    shown = neutralise_line(f"{action.project or ''}#{action.iid}")
    refused = NOT_FOUND.format(shown)
    try:
        issue = client.get_follow_up(action.project or delivery.event.project_id, action.iid)
    except PermanentGitLabError:
        return refused
    if not may_adopt(delivery, state, (incident, secret), issue, index):  # the same words: it may not exist
        delivery.log.info("follow-up %s#%s not adopted: outside the incident's scope or confidential", *incident)
        return refused
    if (issue.project_id, issue.iid) == incident or is_incident(None, issue.labels, delivery.rules.incident_label):
        return f"`{shown}` is an incident, not a follow-up of one."
    if label not in issue.labels:
        client.edit_follow_up(issue.project_id, issue.iid, add_labels=[label])
        issue = FollowUpIssue(**{**vars(issue), "labels": issue.labels | {label}})
    issue = with_due(delivery, issue, incident_severity(delivery, incident, None, index))
    linked = client.issue_links(*incident)
    reviews = incident_reviews(delivery, incident, linked, asked, index, confidential=secret)
    return _keep(delivery, incident, issue, index, "adopted", (linked, reviews, secret), here=state)


def _keep(
    delivery: Delivery,
    incident: tuple[int, int],
    issue: FollowUpIssue,
    index: DeliveryIndex | None,
    verb: str,
    links: tuple[list[LinkedIssue], list[tuple[int, int]], bool],
    unknown_owner: str | None = None,
    *,
    here: IncidentState,
) -> str:
    """Link the follow-up to the incident and its reviews, keep it in the index, refresh the lists; the reply.

    `links`: the incident's links as read, its reviews (`corrective_links.incident_reviews`), and whether the
    incident is confidential; `here`: the issue the reply goes to (public: a confidential follow-up's title unsaid)."""
    linked, reviews, secret = links
    client, key = delivery.gitlab, (issue.project_id, issue.iid)
    if not any((i.project_id, i.iid) == key for i in linked):
        client.link_issues(incident[0], incident[1], issue.project_id, issue.iid)
    has = {(i.project_id, i.iid) for i in client.issue_links(*key)} if reviews else set()
    for review in reviews:
        if review not in has and review != key:
            client.link_issues(review[0], review[1], issue.project_id, issue.iid)
    row = _record(delivery, incident, issue, index)
    found = [i for i in linked if a_review(delivery, i.issue_type, i.labels)]
    remember_reviews(delivery, incident, found, index, confidential=secret)
    refresh_lists(delivery, incident, index)
    shown = follow_up_names(delivery, scope_here(delivery, here, incident, secret), here.issue.confidential)
    return say.reply(row, verb, delivery.clock().date(), unknown_owner, shown=shown(row))


def _record(
    delivery: Delivery, incident: tuple[int, int], issue: FollowUpIssue, index: DeliveryIndex | None
) -> FollowUp:
    from ..store.corrective import record  # SQLAlchemy loads with the index, not with the worker

    row = FollowUp(incident[0], incident[1], **{k: v for k, v in vars(issue).items() if k in _ROW})
    store = store_of(delivery, index)
    if index is None:
        return row
    behind = index.behind  # a failed write: the incident is rebuilt, its follow-ups with it, by the catch-up
    if store is None:
        behind(delivery, *incident, "the index is not open")
        return row
    with index_guard(delivery.log, "", lambda why: behind(delivery, *incident, why)):
        record(store.engine, incident, issue, delivery.clock())
    return row


_ROW = frozenset(
    ("project_id", "iid", "project_path", "title", "url", "confidential", "owner", "due_on", "state", "opened_at")
) | {"closed_at"}
