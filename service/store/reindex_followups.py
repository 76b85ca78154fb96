"""Reindex's follow-ups (issue 20): each incident's linked issues, and its review's, that carry the follow-up label.

Read beside each incident's history (in reindex's reader threads): the incident's links (1 call), the links of
its review (the one the bot opened, and any issue linked with a review label: 1 call each), then each follow-up
issue afresh (1 call each), as the live tracking reads it. Written with the incidents' batch through the same
`store.corrective.record` the Issue Hook tracking uses, so a reindexed row is the row the live path keeps. A
follow-up already kept under another incident stays there (as tracking keeps a known follow-up's incident).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from ..corrective import FollowUpIssue, LinkedIssue, review_iid
from ..events import is_incident
from ..gitlab import PermanentGitLabError
from .corrective import find, record
from .model import Observation
from .vocabulary import Vocabulary

Key = tuple[int, int]


class FollowUpSource(Protocol):
    """The follow-up reads reindex makes (service.gitlab.followups.FollowUpCalls, which GitLabHistory is)."""

    def issue_links(self, project_id: int, iid: int) -> list[LinkedIssue]: ...

    def get_follow_up(self, project: int | str, iid: int) -> FollowUpIssue: ...


def reviews(obs: Observation, links: Sequence[LinkedIssue], vocab: Vocabulary) -> list[Key]:
    """The incident's reviews: the one the bot opened (its memory), and linked issues carrying a review label."""
    found: list[Key] = []
    opened = review_iid(obs.review_url)
    if opened is not None:
        found.append((obs.project_id, opened))
    for linked in links:
        key = (linked.project_id, linked.iid)
        if is_review(linked, vocab) and key not in found:
            found.append(key)
    return found


def is_review(linked: LinkedIssue, vocab: Vocabulary) -> bool:
    """A linked issue that is a review: a review label, no incident, no follow-up."""
    return (
        bool(set(vocab.review_labels) & linked.labels)
        and vocab.follow_up_label not in linked.labels
        and not is_incident(linked.issue_type, linked.labels, vocab.incident_label)
    )


class FollowUpReindex:
    """Reads an incident's follow-ups while its history is read (thread-safe), writes them with its batch."""

    def __init__(self, source: FollowUpSource, vocab: Vocabulary):
        self.source, self.vocab = source, vocab
        self._found: dict[Key, list[FollowUpIssue]] = {}
        self._lock = threading.Lock()
        self.recorded = 0

    def read(self, obs: Observation) -> Observation:
        """Read the incident's follow-ups from GitLab (kept until `write`); the observation as it came."""
        incident = (obs.project_id, obs.iid)
        links = self.source.issue_links(*incident)
        candidates = list(links)
        for review in reviews(obs, links, self.vocab):
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
                issues.append(issue)
        with self._lock:
            self._found[incident] = issues
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

    def write(self, engine: Engine, observations: Sequence[Observation], now: datetime) -> int:
        """Keep the follow-ups read for these incidents; how many were kept."""
        count = 0
        for obs in observations:
            with self._lock:
                issues = self._found.pop((obs.project_id, obs.iid), [])
            for issue in issues:
                known = find(engine, issue.project_id, issue.iid)
                incident = (known.incident_project_id, known.incident_iid) if known else (obs.project_id, obs.iid)
                record(engine, incident, issue, now)
                count += 1
        self.recorded += count
        return count
