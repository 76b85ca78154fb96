"""The "Follow-ups" checklist of an incident and of its review, rewritten in place whenever a follow-up changes.

One bot note per issue, found by the id Redis keeps (`keys.follow_up_list`) or else by its marker among the
bot's notes, edited in place; created the first time. The list is rendered from the index, so it shows every
follow-up of the incident however it came (command, label and link, reindex). It is kept on the review the bot
opened and on reviews linked by hand, which the bot learns from links (`remember_reviews`, `store.reviews`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from .. import corrective_text as say
from ..corrective import is_review, review_iid
from ..events import is_incident
from .index import index_guard

if TYPE_CHECKING:
    from ..store import Store
    from .delivery import Delivery
    from .index import DeliveryIndex


def store_of(delivery: Delivery, index: DeliveryIndex | None) -> Store | None:
    """The worker's open index, or None (no index configured, or it cannot be opened now)."""
    return index.store(delivery.rules, delivery.bot_username) if index is not None else None


def incident_of_review(delivery: Delivery, project_id: int, iid: int) -> tuple[int, int] | None:
    """The incident an issue (a review) is linked to, if any."""
    for linked in delivery.gitlab.issue_links(project_id, iid):
        if is_incident(linked.issue_type, linked.labels, delivery.rules.incident_label):
            return linked.project_id, linked.iid
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


def remember_reviews(
    delivery: Delivery, incident: tuple[int, int], reviews: Iterable[tuple[int, int]], index: DeliveryIndex | None
) -> None:
    """Keep in the index that these issues (linked by hand) are the incident's reviews: their list is kept too."""
    from ..store.reviews import record_reviews  # as below

    wanted, store = list(reviews), store_of(delivery, index)
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
        reviews = _reviews(store, incident)
    if guard.failed:
        return
    text = say.checklist(rows, delivery.clock().date())
    for target in dict.fromkeys([incident, *reviews]):
        _write(delivery, target, text, create=bool(rows))


def reviews_known(delivery: Delivery, incident: tuple[int, int], index: DeliveryIndex | None) -> list[tuple[int, int]]:
    """The incident's reviews the index knows: the one the bot opened first, then those linked by hand ([] without
    an index, or when it cannot be read)."""
    store = store_of(delivery, index)
    if store is None:
        return []
    with index_guard(delivery.log, "incident index not read for the reviews of a follow-up") as guard:
        reviews = _reviews(store, incident)
    return [] if guard.failed else reviews


def _reviews(store: Store, incident: tuple[int, int]) -> list[tuple[int, int]]:
    from ..store.reviews import reviews_of  # as above

    found = store.incident(*incident)
    review = review_iid(found.review_url if found is not None else None)
    opened = [(incident[0], review)] if review is not None else []
    return list(dict.fromkeys([*opened, *reviews_of(store.engine, incident)]))


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
