"""The "Follow-ups" checklist of an incident and of its review, rewritten in place whenever a follow-up changes.

One bot note per issue, found by the id Redis keeps (`keys.follow_up_list`) or else by its marker among the bot's
notes, edited in place; created the first time. The list is rendered from the index, so it shows every follow-up of
the incident however it came (command, label and link, reindex), by its reference only when it may not be named
there (`corrective.may_name`: a confidential one in a public issue, one outside the incident's scope). It is kept on
the review the bot opened and on reviews linked by hand, which the bot learns from links (`remember_reviews`,
`store.reviews`): only one in the incident's project and, for a confidential incident, confidential itself
(`corrective.review_may_hold`, checked when learnt from the link and, for a confidential incident, read again before
its list is written). At most `corrective.REVIEWS_CAP` reviews are kept and written into, the bot's own first, then
in the order learnt (`capped`, logged).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from .. import corrective_text as say
from ..corrective import REVIEWS_CAP, LinkedIssue, is_review, review_iid, review_may_hold
from ..events import is_incident
from ..gitlab import PermanentGitLabError
from .index import index_guard
from .scope import follow_up_names, indexed_scope

if TYPE_CHECKING:
    from ..store import Store
    from .delivery import Delivery
    from .index import DeliveryIndex


def store_of(delivery: Delivery, index: DeliveryIndex | None) -> Store | None:
    """The worker's open index, or None (no index configured, or it cannot be opened now)."""
    return index.store(delivery.rules, delivery.bot_username) if index is not None else None


def incident_of_review(delivery: Delivery, project_id: int, iid: int) -> LinkedIssue | None:
    """The incident an issue (a review) is linked to, if any (as the link shows it: its confidentiality too)."""
    for linked in delivery.gitlab.issue_links(project_id, iid):
        if is_incident(linked.issue_type, linked.labels, delivery.rules.incident_label):
            return linked
    return None


def a_review(delivery: Delivery, issue_type: str | None, labels: Iterable[str]) -> bool:
    """An issue linked to an incident is its review (`corrective.is_review`, with the rules' labels)."""
    rules = delivery.rules
    return is_review(
        issue_type,
        labels,
        review_labels=rules.settings.review_labels,
        follow_up_label=rules.settings.followups.label,
        incident_label=rules.incident_label,
    )


def capped(delivery: Delivery, incident: tuple[int, int], reviews: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The first `corrective.REVIEWS_CAP` of an incident's reviews (the bot's own first: people decide how many they
    link by hand), saying so when more are cut."""
    if len(reviews) <= REVIEWS_CAP:
        return reviews
    delivery.log.warning(
        "incident %s#%s: %s reviews linked by hand, only the first %s kept", *incident, len(reviews), REVIEWS_CAP
    )
    return reviews[:REVIEWS_CAP]


def remember_reviews(
    delivery: Delivery,
    incident: tuple[int, int],
    reviews: Iterable[LinkedIssue],
    index: DeliveryIndex | None,
    *,
    confidential: bool,
) -> None:
    """Keep in the index that these issues (linked by hand) are the incident's reviews, their list kept too: those
    that may show it (`corrective.review_may_hold`; `confidential`: the incident's)."""
    from ..store.reviews import record_reviews  # as below

    wanted = capped(
        delivery, incident, [(r.project_id, r.iid) for r in reviews if review_may_hold(incident, confidential, r)]
    )
    store = store_of(delivery, index)
    if wanted and store is not None:
        with index_guard(delivery.log, "review link not kept in the index"):
            record_reviews(store.engine, incident, wanted, delivery.clock())


def refresh_lists(delivery: Delivery, incident: tuple[int, int], index: DeliveryIndex | None) -> None:
    """Rewrite the "Follow-ups" note of the incident and of its reviews (the bot's, and those linked by hand) from
    the index (nothing without an index)."""
    from ..store.corrective import of_incident  # SQLAlchemy loads with the index, not with the worker

    store = store_of(delivery, index)
    if store is None:
        return
    with index_guard(delivery.log, "follow-ups list not refreshed: incident index not read") as guard:
        rows = of_incident(store.engine, *incident)
        reviews = _reviews(delivery, store, incident)
        known = store.incident(*incident)
    if guard.failed:
        return
    secret = known is None or known.confidential  # unknown: as confidential
    # Written into the incident and reviews that share its confidentiality (unknown: a confidential follow-up hidden);
    # a follow-up outside the incident's scope, kept all the same, by its reference only (`corrective.may_name`).
    shown = follow_up_names(delivery, indexed_scope(delivery, incident, known), known is not None and secret)
    text = say.checklist(rows, delivery.clock().date(), shown=shown)
    opened = review_iid(known.review_url if known is not None else None)
    for target in dict.fromkeys([incident, *reviews]):
        if target in (incident, (incident[0], opened)) or _may_hold(delivery, incident, secret, target):
            _write(delivery, target, text, create=bool(rows))


def _may_hold(delivery: Delivery, incident: tuple[int, int], secret: bool, review: tuple[int, int]) -> bool:
    """A review linked by hand, as the index kept it, may show the list now: in the incident's project and, for a
    confidential incident, still confidential (read again: it may have been kept before this check, or made public)."""
    if review[0] != incident[0]:
        return False
    try:
        return not secret or delivery.gitlab.get_follow_up(*review).confidential
    except PermanentGitLabError:
        return False  # deleted or moved, or the bot may not see it: nothing to write there


def reviews_known(delivery: Delivery, incident: tuple[int, int], index: DeliveryIndex | None) -> list[tuple[int, int]]:
    """The incident's reviews the index knows: the one the bot opened first, then those linked by hand ([] without
    an index, or when it cannot be read)."""
    store = store_of(delivery, index)
    if store is None:
        return []
    with index_guard(delivery.log, "incident index not read for the reviews of a follow-up") as guard:
        reviews = _reviews(delivery, store, incident)
    return [] if guard.failed else reviews


def _reviews(delivery: Delivery, store: Store, incident: tuple[int, int]) -> list[tuple[int, int]]:
    """The review the bot opened, then those linked by hand: at most `REVIEWS_CAP` in all (`capped`)."""
    from ..store.reviews import reviews_of  # as above

    found = store.incident(*incident)
    review = review_iid(found.review_url if found is not None else None)
    opened = [(incident[0], review)] if review is not None else []
    return capped(delivery, incident, list(dict.fromkeys([*opened, *reviews_of(store.engine, incident)])))


def _write(delivery: Delivery, target: tuple[int, int], text: str, *, create: bool) -> None:
    """Edit the list note of `target` in place, or post it the first time (`create`: when there is one to show)."""
    client = delivery.gitlab
    key = delivery.keys.follow_up_list(*target)
    note_id = _known(delivery, key) or _find(delivery, target)
    if note_id is not None:
        current = client.get_note(target[0], target[1], note_id)
        if current is not None and current.author == delivery.bot_username:
            if current.body != text:
                client.edit_note(target[0], target[1], note_id, text)
            return
    if not create:
        return
    note_id = client.create_note(target[0], target[1], text)
    try:
        if delivery.redis is not None:
            delivery.redis.set(key, note_id)
    except RedisError as exc:
        delivery.log.warning("follow-ups note id not kept (found by its marker next time): %s", exc)


def _known(delivery: Delivery, key: str) -> int | None:
    try:
        raw = delivery.redis.get(key) if delivery.redis is not None else None
    except RedisError:
        return None
    return int(raw) if raw is not None and raw.isdigit() else None


def _find(delivery: Delivery, target: tuple[int, int]) -> int | None:
    for note in delivery.gitlab.iter_notes(*target):
        if note.author == delivery.bot_username and say.LIST_MARKER in note.body:
            return note.id
    return None
