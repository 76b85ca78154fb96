"""`report`'s pages per rotation: how many people were paged, and how many of those acknowledged within target.

A page to a person counts once per person and step (the index's `page` events, `store.pages`); it was
acknowledged within target when that person acknowledged that page (`page_ack`) no later than the level's
`ack_within_minutes` after it was sent. A person paged with no rotation (a staffed role's holder reached through a
role whose rotation is gone) counts under `NO_ROTATION`. Minutes are real minutes, whatever the paging minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from service.store.model import EventKind
from service.store.pages import PageRow

NO_ROTATION = "(no rotation)"


@dataclass(frozen=True)
class RotationPages:
    """The pages of one rotation in the report's window."""

    sent: int
    acknowledged_within_target: int


def pages_by_rotation(rows: Iterable[PageRow]) -> dict[str, RotationPages]:
    """Pages sent and acknowledged within target, per rotation (sorted by name)."""
    rows = list(rows)
    acks = {(r.incident_id, r.page, r.person): r.at for r in rows if r.kind is EventKind.PAGE_ACK}
    sent: dict[str, int] = {}
    within: dict[str, int] = {}
    for r in rows:
        if r.kind is not EventKind.PAGE:
            continue
        key = r.rotation or NO_ROTATION
        sent[key] = sent.get(key, 0) + 1
        acked = acks.get((r.incident_id, r.page, r.person))
        try:
            target = timedelta(minutes=float(r.within))
        except (ValueError, OverflowError):
            continue
        if acked is not None and acked - r.at <= target:
            within[key] = within.get(key, 0) + 1
    return {key: RotationPages(sent[key], within.get(key, 0)) for key in sorted(sent)}
