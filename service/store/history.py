"""Reindex's side of the index: build an Observation from an issue's full GitLab history (pure, no I/O).

Input is what the REST API returns: the issue, its resource label events, resource
state events and notes. Label events that share a time and a user are one edit
(GitLab records a scoped-label swap as a remove and an add), so they become one
step, exactly as the same edit arrives to the worker as one delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from .cause_events import cause_events, marked_causes
from .model import EventKind, MarkedCause, Observation, TimelineEvent, parse_time, resolutions
from .observe import first_area, read_memory
from .pages import page_sends
from .timeline import label_events
from .vocabulary import Vocabulary

Raw = Mapping[str, Any]


def _user(raw: Any) -> tuple[str, int | None]:
    if not isinstance(raw, dict):
        return "", None
    uid = raw.get("id")
    return str(raw.get("username") or ""), uid if isinstance(uid, int) else None


def _sorted(items: Sequence[Raw]) -> list[tuple[datetime, int, Raw]]:
    out = []
    for item in items:
        at = parse_time(item.get("created_at"))
        if at is not None:
            out.append((at, int(item.get("id") or 0), item))
    return sorted(out, key=lambda t: (t[0], t[1]))


def project_path(issue: Raw) -> str:
    """`group/project` of an issue: from `references.full` (`group/project#12`), else from its web URL."""
    refs = issue.get("references")
    if isinstance(refs, dict) and isinstance(refs.get("full"), str) and "#" in refs["full"]:
        return refs["full"].rsplit("#", 1)[0]
    url = str(issue.get("web_url") or "")
    if "/-/" in url:
        return url.split("/-/", 1)[0].split("://", 1)[-1].split("/", 1)[-1]
    return ""


def history_observation(
    issue: Raw,
    label_events_raw: Sequence[Raw],
    state_events_raw: Sequence[Raw],
    notes_raw: Sequence[Raw],
    vocab: Vocabulary,
    *,
    review_state: str | None = None,
    observed_at: datetime,
) -> Observation:
    """The incident as GitLab's history tells it: facts now and every timeline event, from the issue's start."""
    labels_now = frozenset(str(label) for label in issue.get("labels") or [])
    created_at = parse_time(issue.get("created_at"))
    labelled = _label_history(labels_now, label_events_raw, vocab)
    closed = _state_history(state_events_raw, vocab.bot_username)
    told = _note_history(issue, notes_raw, vocab)
    author, author_id = _user(issue.get("author"))
    return Observation(
        project_id=int(issue["project_id"]),
        project_path=project_path(issue),
        iid=int(issue["iid"]),
        title=str(issue.get("title") or ""),
        description=str(issue.get("description") or ""),
        url=str(issue.get("web_url") or ""),
        confidential=bool(issue.get("confidential")),
        drill=vocab.drill_label in labels_now,
        issue_type=str(issue.get("issue_type") or issue.get("type") or "issue").lower(),
        category=vocab.category(labels_now),
        area=first_area(told.areas),
        severity=vocab.severity(labels_now),
        phase=vocab.phase(labels_now),
        state=str(issue.get("state") or "opened"),
        author=author or None,
        author_id=author_id,
        created_at=created_at,
        roles=told.staffed,
        review_url=told.review_url,
        review_state=review_state if told.review_url else None,
        observed_at=observed_at,
        events=(*labelled, *closed, *told.events),
        cause=told.cause,
    )


@dataclass
class _Notes:
    """What the comments tell: their timeline events, and what the bot's memories say last."""

    events: list[TimelineEvent] = field(default_factory=list)
    staffed: dict[str, str] = field(default_factory=dict)
    areas: Any = None  # the functional areas the bot's newest memory names, as the delivery path reads them
    review_url: str | None = None
    cause: MarkedCause | None = None  # the newest cause marker's, as the bot confirmed it (the last one wins)


def _label_history(
    labels_now: frozenset[str], label_events_raw: Sequence[Raw], vocab: Vocabulary
) -> list[TimelineEvent]:
    """The timeline events of the label changes, one step per edit (same time, same user)."""
    events: list[TimelineEvent] = []
    changes = _sorted(label_events_raw)
    # Labels at creation that no event explains (older GitLab): undo every recorded change from the labels now.
    labels = set(labels_now)
    for _, _, item in reversed(changes):
        name = (item.get("label") or {}).get("name") if isinstance(item.get("label"), dict) else None
        if name:
            (labels.discard if item.get("action") == "add" else labels.add)(str(name))
    for (at, uid), group in groupby(changes, key=lambda t: (t[0], _user(t[2].get("user"))[1])):
        items = [item for _, _, item in group]
        username, _ = _user(items[0].get("user"))
        before = set(labels)
        for item in items:
            label = item.get("label")
            name = label.get("name") if isinstance(label, dict) else None
            if name:
                (labels.add if item.get("action") == "add" else labels.discard)(str(name))
        events += label_events(before, labels, at, vocab, actor=username, actor_id=uid)
    return events


def _state_history(state_events_raw: Sequence[Raw], bot: str) -> list[TimelineEvent]:
    """The timeline events of closing and reopening."""
    events = []
    for at, _, item in _sorted(state_events_raw):
        state = str(item.get("state") or "")
        if state in ("closed", "reopened"):
            username, uid = _user(item.get("user"))
            by_bot = username == bot
            events.append(TimelineEvent(at, EventKind.STATE, "", "", state, username, None if by_bot else uid, by_bot))
    return events


def _note_history(issue: Raw, notes_raw: Sequence[Raw], vocab: Vocabulary) -> _Notes:
    """People's comments and status updates, and what the bot's comments and memories record, in order."""
    bot = vocab.bot_username
    told = _Notes()
    for at, _, note in _sorted(notes_raw):
        username, uid = _user(note.get("author"))
        body = str(note.get("body") or "")
        if note.get("system"):
            continue
        if username != bot:
            kind = EventKind.STATUS_UPDATE if vocab.is_status_update(body) else EventKind.COMMENT
            told.events.append(TimelineEvent(at, kind, "", "", "", username, uid, False))
            continue
        told.events += resolutions(body, bot) + cause_events(body)
        marks = marked_causes(body, int(issue["project_id"]), int(issue["iid"]))
        told.cause = marks[-1] if marks else told.cause
        memory = read_memory(body)
        if memory is not None:
            _remember(told, memory, at, bot)
    return told


def _remember(told: _Notes, memory: dict[str, Any], at: datetime, bot: str) -> None:
    """One memory of the bot's: the role changes since the last, its pages, areas, and the first review it opened."""
    raw_staffed = memory.get("staffed")
    staffed = told.staffed
    now_staffed = {str(k): str(v) for k, v in raw_staffed.items()} if isinstance(raw_staffed, dict) else staffed
    for role in sorted(set(staffed) | set(now_staffed)):
        if staffed.get(role) != now_staffed.get(role):
            told.events.append(
                TimelineEvent(
                    at, EventKind.ROLE, role, staffed.get(role, ""), now_staffed.get(role, ""), bot, None, True
                )
            )
    told.staffed = now_staffed
    told.events += page_acks(memory) + page_sends(memory)
    told.areas = memory.get("areas", told.areas)
    review = memory.get("review")
    if isinstance(review, dict) and review.get("url") and told.review_url is None:
        told.review_url = str(review["url"])
        told.events.append(TimelineEvent(at, EventKind.REVIEW, "", "", told.review_url, bot, None, True))


def bot_comments(notes_raw: Sequence[Raw], bot: str) -> list[str]:
    """The bodies of the bot's own comments (no system note, no person's): where its markers are read."""
    return [
        str(note.get("body") or "")
        for note in notes_raw
        if isinstance(note, Mapping) and not note.get("system") and _user(note.get("author"))[0] == bot
    ]


def review_iid(notes_raw: Sequence[Raw], bot: str) -> int | None:
    """The review issue's iid from the bot's newest memory, if it opened one."""
    for _, _, note in reversed(_sorted(notes_raw)):
        if _user(note.get("author"))[0] != bot:
            continue
        memory = read_memory(str(note.get("body") or ""))
        review = memory.get("review") if memory else None
        if isinstance(review, dict) and str(review.get("iid", "")).isdigit():
            return int(review["iid"])
    return None


def page_acks(memory: dict[str, Any]) -> list[TimelineEvent]:
    """The pages the memory says were acknowledged (`handlers.paging`), as the worker recorded them."""
    found = []
    pages = memory.get("pages")
    for page, record in pages.items() if isinstance(pages, dict) else ():
        acked = record.get("acked") if isinstance(record, dict) else None
        at = parse_time(acked.get("at")) if isinstance(acked, dict) else None
        if isinstance(acked, dict) and at is not None and isinstance(acked.get("by"), str):
            via = str(acked.get("via", ""))
            found.append(TimelineEvent(at, EventKind.PAGE_ACK, str(page), "", via, acked["by"], None, False))
    return found
