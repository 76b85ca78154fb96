"""Reindex's follow-ups (issue 20): each incident's linked issues, and its review's, that carry the follow-up label.

Read beside each incident's history (in reindex's reader threads): the incident's links (1 call), the links of
its review (the one the bot opened, and any issue linked with a review label: 1 call each), then each follow-up
issue afresh and its comments (2 calls each, plus pagination), as the live tracking reads it. Written with the
incidents' batch through the same `store.corrective.record` the Issue Hook tracking uses, so a reindexed row is the
row the live path keeps. A follow-up already kept under another incident stays there (as tracking keeps a known
follow-up's incident). The overdue reminders posted (`reminded`, what the overdue pass posts next by) come from the
markers of the bot's own comments on the follow-up's issue (`corrective.reminders_marked`), never lowered: with the
index and Redis both lost, no reminder is posted twice. The reviews linked by hand are kept too (`store.reviews`),
so the "Follow-ups" checklist reaches them afterwards, those that may show it (`corrective.review_may_hold`).
`reindex` and the single-incident catch-up (`reindex_issue`) both go through `FollowUpReindex`. People who can link
issues decide how many there are, so the catch-up, which runs in a worker (after a delivery's index write), reads at
most `CATCH_UP` of them (follow-ups, reviews, pages of a follow-up's comments, newest first: the markers are in the
bot's latest reminders) and logs the cut; `reindex`, an operator's batch, reads every one (each listing bounded by
the GitLab session's page cap).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from ..corrective import (
    REVIEWS_CAP,
    FollowUpIssue,
    LinkedIssue,
    is_review,
    reminders_marked,
    review_iid,
    review_may_hold,
)
from ..events import is_incident
from ..gitlab import PermanentGitLabError
from .corrective import find, record, set_reminded
from .history import bot_comments
from .model import Observation
from .reviews import record_reviews
from .vocabulary import Vocabulary

Key = tuple[int, int]
log = logging.getLogger("incident_bot.store")


@dataclass(frozen=True)
class Caps:
    """How much of an incident's linked issues one read takes (None: all)."""

    follow_ups: int | None = None  # follow-up issues read (each: the issue and its comments)
    reviews: int | None = None  # reviews linked by hand whose links are read
    note_pages: int = 50  # pages of 100 of a follow-up's comments, newest first


EVERYTHING = Caps()  # `incident-bot reindex`
CATCH_UP = Caps(follow_ups=50, reviews=REVIEWS_CAP, note_pages=2)  # the worker's catch-up of one incident


class FollowUpSource(Protocol):
    """The follow-up reads reindex makes (service.gitlab.followups.FollowUpCalls, which GitLabHistory is)."""

    def issue_links(self, project_id: int, iid: int) -> list[LinkedIssue]: ...

    def get_follow_up(self, project: int | str, iid: int) -> FollowUpIssue: ...

    def notes(
        self, project_id: int, iid: int, *, newest_first: bool = False, max_pages: int = ...
    ) -> list[dict[str, Any]]: ...


def linked_reviews(links: Sequence[LinkedIssue], vocab: Vocabulary) -> list[LinkedIssue]:
    """The incident's reviews linked by hand: linked issues that are reviews (`corrective.is_review`)."""
    return [
        linked
        for linked in links
        if is_review(
            linked.issue_type,
            linked.labels,
            review_labels=vocab.review_labels,
            follow_up_label=vocab.follow_up_label,
            incident_label=vocab.incident_label,
        )
    ]


class FollowUpReindex:
    """Reads an incident's follow-ups while its history is read (thread-safe), writes them with its batch."""

    def __init__(self, source: FollowUpSource, vocab: Vocabulary, caps: Caps = EVERYTHING):
        self.source, self.vocab, self.caps = source, vocab, caps
        self._found: dict[Key, tuple[list[tuple[FollowUpIssue, int]], list[Key]]] = {}
        self._lock = threading.Lock()
        self.recorded = 0

    def read(self, obs: Observation) -> Observation:
        """Read the incident's follow-ups from GitLab (kept until `write`); the observation as it came."""
        incident = (obs.project_id, obs.iid)
        links = self.source.issue_links(*incident)
        reviews = linked_reviews(links, self.vocab)
        read = _cut([(r.project_id, r.iid) for r in reviews], self.caps.reviews, "reviews", incident)
        # Kept as the incident's reviews (their list written): those that may show it (`review_may_hold`).
        by_hand = [(r.project_id, r.iid) for r in reviews if review_may_hold(incident, obs.confidential, r)]
        by_hand = [key for key in by_hand if key in read]
        opened = review_iid(obs.review_url)
        candidates = list(links)
        for review in dict.fromkeys([*([(obs.project_id, opened)] if opened is not None else []), *read]):
            candidates += self._links(review)
        issues = [(issue, self._reminded(key)) for key, issue in self._follow_ups(incident, candidates)]
        with self._lock:
            self._found[incident] = (issues, by_hand)
        return obs

    def _follow_ups(self, incident: Key, candidates: list[LinkedIssue]) -> list[tuple[Key, FollowUpIssue]]:
        """The linked issues carrying the label, each read afresh (at most `caps.follow_ups`)."""
        keys: dict[Key, None] = {}
        for linked in candidates:
            key = (linked.project_id, linked.iid)
            if key == incident or key in keys or self.vocab.follow_up_label not in linked.labels:
                continue
            if not is_incident(linked.issue_type, linked.labels, self.vocab.incident_label):
                keys[key] = None  # an incident is never a follow-up (the `follow-up #123` command refuses it too)
        found = ((key, self._issue(key)) for key in _cut(list(keys), self.caps.follow_ups, "follow-ups", incident))
        return [
            (key, issue) for key, issue in found if issue is not None and self.vocab.follow_up_label in issue.labels
        ]

    def _links(self, key: Key) -> list[LinkedIssue]:
        try:
            return self.source.issue_links(*key)
        except PermanentGitLabError:
            return []  # the review was deleted or moved, or the bot may not see it

    def _issue(self, key: Key) -> FollowUpIssue | None:
        try:
            return self.source.get_follow_up(*key)
        except PermanentGitLabError:
            return None  # deleted or moved since it was linked: nothing to keep

    def _reminded(self, key: Key) -> int:
        """The overdue reminders the bot's comments on the follow-up's issue mark as posted."""
        try:
            notes = self.source.notes(*key, newest_first=True, max_pages=self.caps.note_pages)
        except PermanentGitLabError:
            return 0  # deleted or moved since it was read: the index's count stays
        return reminders_marked(bot_comments(notes, self.vocab.bot_username))

    def write(self, engine: Engine, observations: Sequence[Observation], now: datetime) -> int:
        """Keep the follow-ups read for these incidents, and their reviews linked by hand; how many follow-ups."""
        count = 0
        for obs in observations:
            with self._lock:
                issues, by_hand = self._found.pop((obs.project_id, obs.iid), ([], []))
            record_reviews(engine, (obs.project_id, obs.iid), by_hand, now)
            for issue, reminded in issues:
                known = find(engine, issue.project_id, issue.iid)
                incident = (known.incident_project_id, known.incident_iid) if known else (obs.project_id, obs.iid)
                record(engine, incident, issue, now)
                if reminded:
                    set_reminded(engine, issue.project_id, issue.iid, reminded)
                count += 1
        self.recorded += count
        return count


def _cut(keys: list[Key], cap: int | None, what: str, incident: Key) -> list[Key]:
    """The first `cap` of `keys` (all when None), saying so when the cap cuts."""
    if cap is None or len(keys) <= cap:
        return keys
    log.warning("incident %s#%s: %s linked %s, only the first %s read", *incident, len(keys), what, cap)
    return keys[:cap]
