"""The worker side of the index: build an Observation from one applied delivery (pure, no I/O).

This is the ONE module of the index that imports the worker's objects (Event,
IncidentState, Plan, RuleSet, the memory marker reader); when they move, only these
imports change. `read_memory` is re-exported for `history`.

The worker calls, after `apply_plan` succeeded, in the same job (not in dry-run, not for a
delivery skipped as already applied or as the bot's own change):

    review_url = outcome.review[1] if outcome.review and outcome.review[2] else None  # opened now
    obs = observe(event, state, plan, vocab, now=clock(), payload=payload, review_url=review_url)
    if obs is not None:
        try:
            store.record(obs)
        except SQLAlchemyError:  # the index is derived: log it; `reindex` heals, GitLab is already written
            log.warning(...)

`payload` is the delivery's parsed JSON (its own timestamps, the issue's created_at and
author_id, which Event does not carry); `vocab = vocabulary(rules, bot_username)`, rebuilt
when the rules reload; `store = open_store(vocab=vocab)` once per worker process.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.events import is_incident
from service.incident import read_memory
from service.plan import AcknowledgePage, Plan

from .checklists import count
from .model import EventKind, Observation, Progress, TimelineEvent, parse_time
from .pages import page_sends
from .timeline import label_events
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from service.events import Event
    from service.incident import IncidentState, Issue
    from service.plan import After
    from service.rules import RuleSet


__all__ = ["first_area", "observe", "read_memory", "vocabulary"]
AREA_CHARS = 64  # the `area` column's width


def vocabulary(rules: RuleSet, bot_username: str) -> Vocabulary:
    """The labels of each scope as the rules define them, and the bot's username."""
    return Vocabulary(
        severities={s.label: s.level for s in rules.severities.values()},
        phases=tuple((p.label, p.name) for p in rules.phases),
        categories=tuple((c.label, c.name) for c in rules.categories.values()),
        incident_label=rules.incident_label,
        drill_label=rules.drill_label,
        bot_username=bot_username,
        follow_up_label=rules.settings.followups.label,
        review_labels=tuple(rules.settings.review_labels),
    )


def observe(
    event: Event,
    state: IncidentState,
    plan: Plan,
    vocab: Vocabulary,
    *,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    review_url: str | None = None,
) -> Observation | None:
    """What this delivery tells the index: the incident as the plan left it, and the events of the delivery.

    `now` is the worker's clock; the delivery's own timestamp (`updated_at` of an issue,
    `created_at` of a note) is used instead when `payload` (the delivery's JSON) has it.
    `review_url` is the review issue the executor opened for this plan, if any.
    None when the delivery does not concern an incident.
    """
    incident = vocab.incident_label
    if not event.is_incident and incident not in event.labels_removed:
        return None
    times = _payload_times(payload or {}, event.is_note)
    at = times["at"] or now
    actor, actor_id = event.actor.username, event.actor.id
    events = _person_step(event, plan, vocab, at)
    after = plan.settled(state)  # the incident as the plan leaves it
    labels_after = after.labels
    closing = after.state == "closed" and state.issue.state != "closed"
    review = state.memory.get("review")
    known_review = review.get("url") if isinstance(review, dict) else None
    opened_review = review_url if review_url and not known_review else None
    bot_events, staffed = _bot_step(state, after, closing, opened_review, vocab, at)
    author_id = _author_id(times["author_id"], event)
    issue = state.issue
    return Observation(
        project_id=event.project_id,
        project_path=event.project_path,
        iid=event.iid,
        title=issue.title or event.title,
        description=issue.description or event.description,
        url=issue.web_url or event.url,
        confidential=issue.confidential or event.confidential,
        drill=vocab.drill_label in labels_after,
        issue_type=(issue.issue_type or "issue").lower(),
        category=vocab.category(labels_after),
        area=first_area(after.memory.get("areas")),
        severity=vocab.severity(labels_after),
        phase=vocab.phase(labels_after),
        state="closed" if closing else issue.state,
        author=_author_name(issue, author_id, actor, actor_id),
        author_id=author_id,
        created_at=times["created_at"] or (at if event.action == "open" and not event.is_note else None),
        roles=staffed,
        review_url=review_url or known_review,
        review_state="opened" if opened_review else None,
        observed_at=at,
        events=(*events, *bot_events),
        is_incident=is_incident(issue.issue_type, labels_after, incident),
        checklists=_checklists(state, event, payload or {}),
    )


def _person_step(event: Event, plan: Plan, vocab: Vocabulary, at: datetime) -> list[TimelineEvent]:
    """The person's step: labels before and after their edit, their closing or comment, the pages acknowledged."""
    actor, actor_id = event.actor.username, event.actor.id
    events: list[TimelineEvent] = []
    if not event.is_note:
        before = (set(event.labels) - event.labels_added) | event.labels_removed
        events += label_events(before, event.labels, at, vocab, actor=actor, actor_id=actor_id)
        if event.action in ("close", "reopen"):
            to = "closed" if event.action == "close" else "reopened"
            events.append(TimelineEvent(at, EventKind.STATE, "", "", to, actor, actor_id, actor == vocab.bot_username))
    elif event.action == "create" and actor != vocab.bot_username:
        kind = EventKind.STATUS_UPDATE if vocab.is_status_update(event.note or "") else EventKind.COMMENT
        events.append(TimelineEvent(at, kind, "", "", "", actor, actor_id, False))
    for ack in plan.of(AcknowledgePage):  # a page acknowledged: the incident's acknowledged time (store.timeline)
        when = parse_time(ack.at) or at
        events.append(TimelineEvent(when, EventKind.PAGE_ACK, ack.page, "", ack.via, ack.person, None, False))
    return events


def _bot_step(
    state: IncidentState, after: After, closing: bool, opened_review: str | None, vocab: Vocabulary, at: datetime
) -> tuple[list[TimelineEvent], dict[str, str]]:
    """The bot's step, what the plan changed (pages sent, labels, closing, roles, the review opened); who is staffed."""
    bot = vocab.bot_username
    events = sorted(set(page_sends(after.memory)) - set(page_sends(state.memory)))  # the people this plan paged
    events += label_events(state.labels, after.labels, at, vocab, actor=bot, actor_id=None)
    if closing:
        events.append(TimelineEvent(at, EventKind.STATE, "", "", "closed", bot, None, True))
    raw = state.memory.get("staffed")
    staffed_before = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    staffed = _staffed(after.memory.get("staffed"), staffed_before)
    for role in sorted(set(staffed_before) | set(staffed)):
        if staffed_before.get(role) != staffed.get(role):
            was, now_user = staffed_before.get(role) or "", staffed.get(role) or ""
            events.append(TimelineEvent(at, EventKind.ROLE, role, was, now_user, bot, None, True))
    if opened_review:
        events.append(TimelineEvent(at, EventKind.REVIEW, "", "", opened_review, bot, None, True))
    return events, staffed


def _checklists(state: IncidentState, event: Event, payload: Mapping[str, Any]) -> tuple[Progress, ...]:
    """Progress read this delivery: the current phase's checklist note, and a person's edit of any of them."""
    found: list[Progress] = []
    attrs = payload.get("object_attributes")
    ids = state.memory.get("checklists")
    # A note update is counted only when the note is one the bot's memory names as a checklist:
    # anyone can write the marker in a comment of their own.
    if event.is_note and event.action == "update" and isinstance(attrs, dict) and isinstance(ids, dict):
        if attrs.get("id") in ids.values() and isinstance(attrs.get("note"), str):
            found += count(attrs["note"])
    found += [p for note in state.notes for p in count(note.body)]  # read from GitLab now: newer than the hook
    return tuple({p.phase: p for p in found}.values())


def _staffed(value: Any, before: dict[str, str]) -> dict[str, str]:
    """Who is staffed after the plan (its memory `staffed`; anything but a mapping leaves it as it was)."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else dict(before)


def first_area(areas: Any) -> str | None:
    """The incident's functional area in the index: the first the planner applied (the bot's memory `areas`).

    The planner appends each area the first time it applies (`handlers.areas`), in the rules' order within one
    delivery, and never drops one: the first is stable, so an incident in several areas counts under one.
    """
    if not isinstance(areas, list):
        return None
    return next((name[:AREA_CHARS] for name in areas if isinstance(name, str) and name), None)


def _payload_times(payload: Mapping[str, Any], is_note: bool) -> dict[str, Any]:
    """The delivery's time, the issue's created_at and author id, from the hook body (absent: None)."""
    attrs = payload.get("object_attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    issue = payload.get("issue") if is_note else attrs
    issue = issue if isinstance(issue, dict) else {}
    author_id = issue.get("author_id")
    return {
        "at": parse_time(attrs.get("created_at") if is_note else attrs.get("updated_at")),
        "created_at": parse_time(issue.get("created_at")),
        "author_id": author_id if isinstance(author_id, int) and not isinstance(author_id, bool) else None,
    }


def _author_id(known: int | None, event: Event) -> int | None:
    """The issue's author id: the hook's, else (an issue just opened) the actor's."""
    if event.action == "open" and not event.is_note:
        return event.actor.id if known is None else known
    return known


def _author_name(issue: Issue, author_id: int | None, actor: str, actor_id: int | None) -> str | None:
    """The author's username: GitLab's issue names it; else the actor, when the actor is the author."""
    if issue.author and (author_id is None or issue.author_id in (None, author_id)):
        return issue.author
    return actor if author_id is not None and author_id == actor_id else None
