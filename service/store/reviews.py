"""An incident's review issues linked by hand, in the index: where its "Follow-ups" checklist is kept besides.

The bot learns a review from its links (`corrective.is_review`): a follow-up asked in it, a follow-up linked to it,
the incident's links read when a follow-up is opened or adopted, and `reindex`. A link once learnt is kept (GitLab
sends no hook when a link is removed). The review the bot opened is `incidents.review_url`, and may be here too
(it carries the review label and is linked): the checklist's targets are each written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .model import utc
from .schema import review_links

Key = tuple[int, int]


def record_reviews(engine: Engine, incident: Key, reviews: Iterable[Key], now: datetime) -> int:
    """Keep that these issues are the incident's reviews; how many were new (a known one changes nothing)."""
    wanted = [r for r in dict.fromkeys(reviews) if r != incident]
    if not wanted:
        return 0
    c = review_links.c
    mine = (c.incident_project_id == incident[0], c.incident_iid == incident[1])
    added = 0
    for _ in range(2):  # a concurrent first insert of the same link: the second pass finds it
        try:
            with engine.begin() as conn:
                known = {(r.project_id, r.iid) for r in conn.execute(sa.select(c.project_id, c.iid).where(*mine))}
                new = [r for r in wanted if r not in known]
                for project_id, iid in new:
                    conn.execute(
                        review_links.insert().values(
                            incident_project_id=incident[0],
                            incident_iid=incident[1],
                            project_id=project_id,
                            iid=iid,
                            linked_at=utc(now),
                        )
                    )
                added = len(new)
            return added
        except sa.exc.IntegrityError:
            continue
    return added


def reviews_of(engine: Engine, incident: Key) -> list[Key]:
    """The incident's reviews linked by hand, in the order the bot learnt of them."""
    c = review_links.c
    query = (
        sa.select(c.project_id, c.iid)
        .where(c.incident_project_id == incident[0], c.incident_iid == incident[1])
        .order_by(c.linked_at, c.project_id, c.iid)
    )
    with engine.connect() as conn:
        return [(int(r.project_id), int(r.iid)) for r in conn.execute(query)]
