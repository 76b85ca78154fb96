"""Reindex's follow-ups (issue 20): each incident's linked issues, and its review's, that carry the follow-up label.

Read beside each incident's history (in reindex's reader threads): the incident's links (1 call), the links of
its review (the one the bot opened, and any issue linked with a review label: 1 call each), then each follow-up
issue afresh and its comments (2 calls each, plus pagination), as the live tracking reads it. Written with the
incidents' batch through the same `store.corrective.record` the Issue Hook tracking uses, so a reindexed row is the
row the live path keeps. A follow-up already kept under another incident stays there (as tracking keeps a known
follow-up's incident). The overdue reminders posted (`reminded`, what the overdue pass posts next by) come from the
markers of the bot's own comments on the follow-up's issue (`corrective.reminders_marked`), never lowered: with the
index and Redis both lost, no reminder is posted twice. The reviews linked by hand are kept too (`store.reviews`),
so the "Follow-ups" checklist reaches them afterwards. `reindex` and the single-incident catch-up
(`reindex_issue`) both go through `FollowUpReindex`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from ..corrective import FollowUpIssue, LinkedIssue, is_review, reminders_marked, review_iid, review_may_hold
from ..events import is_incident
from ..gitlab import PermanentGitLabError
from .corrective import find, record, set_reminded
from .history import bot_comments
from .model import Observation
from .reviews import record_reviews
from .vocabulary import Vocabulary

Key = tuple[int, int]


class FollowUpSource(Protocol):
    """The follow-up reads reindex makes (service.gitlab.followups.FollowUpCalls, which GitLabHistory is)."""

    def issue_links(self, project_id: int, iid: int) -> list[LinkedIssue]: ...

    def get_follow_up(self, project: int | str, iid: int) -> FollowUpIssue: ...

    def notes(self, project_id: int, iid: int) -> list[dict[str, Any]]: ...


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

    def __init__(self, source: FollowUpSource, vocab: Vocabulary):
        self.source, self.vocab = source, vocab
        self._found: dict[Key, tuple[list[tuple[FollowUpIssue, int]], list[Key]]] = {}
        self._lock = threading.Lock()
        self.recorded = 0

    def read(self, obs: Observation) -> Observation:
        """Read the incident's follow-ups from GitLab (kept until `write`); the observation as it came."""
        incident = (obs.project_id, obs.iid)
        links = self.source.issue_links(*incident)
        candidates, reviews = list(links), linked_reviews(links, self.vocab)
        # Kept as the incident's reviews (their list written): those that may show it; all are read for follow-ups.
        by_hand = [(r.project_id, r.iid) for r in reviews if review_may_hold(incident, obs.confidential, r)]
        opened = review_iid(obs.review_url)
        for review in dict.fromkeys([*([(obs.project_id, opened)] if opened is not None else []), *by_hand]):
            candidates += self._links(review)
        issues, seen = [], {incident}
        for linked in candidates:
            key = (linked.project_id, linked.iid)
            if key in seen or self.vocab.follow_up_label not in linked.labels:
                continue
            seen.add(key)
            if is_incident(linked.issue_type, linked.labels, self.vocab.incident_label):
                continue  # an incident is never a follow-up (the `follow-up #123` command refuses it too)
            issue = self._issue(key)
            if issue is not None and self.vocab.follow_up_label in issue.labels:
                issues.append((issue, self._reminded(key)))
        with self._lock:
            self._found[incident] = (issues, by_hand)
        return obs

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
            notes = self.source.notes(*key)
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
