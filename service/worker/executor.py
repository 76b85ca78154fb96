"""Turn a plan into the fewest GitLab calls; or, in dry-run, into log lines only.

Per delivery: at most one issue `PUT` (labels and state together), the assignees by username and the
GraphQL severity sync, all in one round trip (worker/staffing.py); on resolution the review issue and its link, the
notification and reminder jobs, and one note write (a new comment, or the bot's latest comment edited in place when
only its memory changed). The note goes last: it carries the memory record, so
a worker killed before it re-plans from GitLab and repeats only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..gitlab import GitLabClient, PermanentGitLabError
from ..gitlab.together import together
from ..incident import IncidentState, new_comment, strip_memory, with_delivery, write_memory
from ..plan import (
    AdoptFollowUp,
    CloseIssue,
    ConfideReview,
    Notify,
    OpenDrill,
    OpenFollowUp,
    OpenReview,
    Plan,
    PostNote,
    Remember,
    ScheduleInjects,
    SchedulePageStep,
    ScheduleReminder,
    SendPage,
    SetNativeSeverity,
    TrackFollowUp,
)
from ..text import is_username, neutralise_line
from .causes import record_causes
from .corrective import apply_follow_ups
from .drills import open_drill
from .enrich import Enrichment
from .mrcomment import comment_on_causes
from .silences import apply_silences
from .staffing import by_id, by_username, not_users, staffing

if TYPE_CHECKING:
    from .delivery import Delivery
    from .followups import FollowUps
    from .index import DeliveryIndex

log = logging.getLogger("incident_bot.apply")


@dataclass
class Applied:
    """What the executor did, for logs and tests (and the link enrichers: what it opened, or why not)."""

    writes: list[str] = field(default_factory=list)
    review: tuple[int, str, bool] | None = None
    drill: tuple[int, str, bool] | None = None  # the drill issue a `drill` command opened (iid, url, opened now)
    note_id: int | None = None
    review_error: str | None = None  # GitLab refused to open the review (said in its link)
    drill_error: str | None = None  # GitLab refused to open the drill (said in its link)
    cause: str | None = None  # what `cause <ref>` recorded in the index, or why not (worker/causes.py)


@dataclass(frozen=True)
class LabelChange:
    add: tuple[str, ...]
    remove: tuple[str, ...]


def label_change(plan: Plan, current: frozenset[str]) -> LabelChange:
    """The net label edit from `current` to the labels the plan leaves (`Plan.after`): only labels that change."""
    after = plan.after.labels if plan.after is not None else current
    return LabelChange(add=tuple(sorted(after - current)), remove=tuple(sorted(current - after)))


def new_memory(plan: Plan, state: IncidentState, event: Event) -> dict[str, Any]:
    """The memory to write: the plan's (`Plan.after`), with this delivery recorded."""
    memory = dict(plan.settled(state).memory)
    return with_delivery(memory, event.delivery_id, new_comment(event), state.memory_note_id if state.memory else None)


def note_body(plan: Plan) -> str:
    """The sections of this delivery's comment, joined, as planned: a part not yet filled shows its preview."""
    return _joined(section.preview for section in plan.of(PostNote))


def comment(plan: Plan) -> str:
    """The comment the executor posts; raises `Unfilled` while a part still waits for its enricher."""
    return _joined(section.body for section in plan.of(PostNote))


def _joined(bodies: Iterable[str]) -> str:
    return "\n\n".join(body.strip() for body in bodies if body.strip())


def apply_plan(
    plan: Plan,
    state: IncidentState,
    delivery: Delivery,
    *,
    followups: FollowUps | None = None,
    enrichment: Enrichment | None = None,
    index: DeliveryIndex | None = None,
) -> Applied:
    """Execute the plan against GitLab with the fewest calls, through the delivery's bound client.

    The issue first (labels, assignees, state, the review and drill issues), then `enrichment`'s
    enrichers of the after-write stage fill the comment's parts (the links, what the index says), so
    the first write does not wait for the index; the comment is rendered only once every part is filled.
    """
    outcome = Applied()
    if plan.empty:
        return outcome
    event, client = delivery.event, delivery.gitlab
    pid, iid = event.project_id, event.iid
    unknown = _write_issue(plan, state, delivery, outcome)
    memory = new_memory(plan, state, event)
    for review in plan.of(OpenReview)[:1]:
        _review(review, state, delivery, outcome, memory)
    for confide in plan.of(ConfideReview)[:1]:
        client.update_issue(pid, confide.iid, confidential=True)
        outcome.writes.append("update_review")
    for drill in plan.of(OpenDrill)[:1]:
        _open_drill(drill, delivery, outcome, followups)
    recorded = record_causes(plan, delivery, state, index)  # issue 19: into the index, before its CauseNote
    # issue 19: the merge requests of a cause now recorded, and only then (worker/mrcomment.py)
    told = comment_on_causes(plan, delivery, state, index) if recorded is not None and recorded.named else None
    outcome.cause = "\n\n".join(filter(None, (recorded.said if recorded else None, told))) or None
    plan = (enrichment or Enrichment(delivery, state)).after_write(plan, outcome)
    body = comment(plan)
    if unknown:
        # A rotation naming someone GitLab does not know: say so where responders will read it.
        names = ", ".join(f"`{u}`" if is_username(u) else neutralise_line(u) for u in unknown)
        body += f"\n\n**Not assigned**: {names} is not a GitLab user; check the rotation in `rules/`."
    if plan.of(OpenFollowUp) or plan.of(AdoptFollowUp) or plan.of(TrackFollowUp):  # issue 20: worker/corrective.py
        body = apply_follow_ups(plan, delivery, state, body, index)
    body = apply_silences(plan, delivery, body)  # issue 18: worker/silences.py (Alertmanager, not GitLab)
    if followups is not None and _has_followups(plan):
        # Before the note, which records the delivery as applied: a worker killed in between
        # enqueues them again on retry, and their own keys keep anyone from being told twice.
        followups(plan, delivery, state)
    _write_note(client, state, pid, iid, body, memory, bool(plan.of(Remember)), outcome)
    return outcome


def _write_issue(plan: Plan, state: IncidentState, delivery: Delivery, outcome: Applied) -> list[str]:
    """The issue's one PUT (labels, state), its assignees and native severity; the usernames GitLab does not know."""
    event, client = delivery.event, delivery.gitlab
    pid, iid = event.project_id, event.iid
    labels = label_change(plan, state.labels)
    staff, assignee_ids = staffing(plan, state), None
    calls: list[Callable[[], Any]] = []
    if staff is not None and event.project_path:  # by username, in this round: no lookup before it
        calls.append(by_username(client, event.project_path, iid, staff))
        outcome.writes.append("set_assignees")
    elif staff is not None:
        assignee_ids = by_id(client, state, staff)
    state_event = None
    if plan.of(CloseIssue) and state.issue.state != "closed":
        state_event = "close"
    if labels.add or labels.remove or assignee_ids is not None or state_event:
        calls.append(lambda: client.update_issue(
            pid, iid, add_labels=labels.add, remove_labels=labels.remove,
            assignee_ids=assignee_ids, state_event=state_event,
        ))  # fmt: skip
        outcome.writes.append("update_issue")
    for severity in plan.of(SetNativeSeverity)[-1:]:

        def native(wanted: str = severity.severity) -> None:
            try:
                client.set_native_severity(event.project_path or str(pid), iid, wanted)
                outcome.writes.append("set_native_severity")
            except PermanentGitLabError as exc:
                # A courtesy: a refusal (no permission, no native severity on this tier) must not stop the rest.
                delivery.log.warning("native severity not set for %s#%s: %s", pid, iid, exc)

        calls.append(native)
    # The PUT, the GraphQL severity and assignees go together (one round trip); all land before the note that records
    # the delivery as applied, so a failure of any is retried.
    together(*calls)
    return not_users(client, staff)


def _review(
    review: OpenReview, state: IncidentState, delivery: Delivery, outcome: Applied, memory: dict[str, Any]
) -> None:
    """The review issue: the one the memory names, else opened now (and remembered); a refusal is kept for its link."""
    existing = state.memory.get("review")
    if existing:
        outcome.review = (int(existing["iid"]), str(existing.get("url", "")), False)
        return
    event, confidential = delivery.event, state.issue.confidential
    pid, iid = event.project_id, event.iid
    # A worker killed after opening the review but before the note retries: find it, don't open another.
    try:
        outcome.review = _open_review(delivery.gitlab, pid, iid, review, confidential=confidential)
    except PermanentGitLabError as exc:
        delivery.log.warning("review issue not opened for %s#%s: %s", pid, iid, exc)
        outcome.review_error = str(exc)
        return
    outcome.writes += ["create_issue", "link_issues"] if outcome.review[2] else []
    memory["review"] = {"iid": outcome.review[0], "url": outcome.review[1], "confidential": confidential}


def _write_note(
    client: GitLabClient,
    state: IncidentState,
    pid: int,
    iid: int,
    body: str,
    memory: dict[str, Any],
    remembered: bool,
    outcome: Applied,
) -> None:
    """The note goes last: a new comment carrying the memory, or only the memory note edited."""
    if body:
        outcome.note_id = _new_memory_note(client, pid, iid, write_memory(body, memory))
        outcome.writes.append("create_note")
    elif remembered and state.memory_note_id is not None:
        client.edit_note(pid, iid, state.memory_note_id, write_memory(strip_memory(state.memory_note_body), memory))
        outcome.writes.append("edit_note")
    elif remembered:
        outcome.note_id = _new_memory_note(
            client, pid, iid, write_memory("_incident-bot is tracking this incident._", memory)
        )
        outcome.writes.append("create_note")


def _has_followups(plan: Plan) -> bool:
    """Whether the plan asks anything of people or time (notifications, reminders, injects, pages)."""
    return any(plan.of(kind) for kind in (Notify, ScheduleReminder, ScheduleInjects, SendPage, SchedulePageStep))


def _new_memory_note(client: GitLabClient, pid: int, iid: int, body: str) -> int:
    """Post the note carrying the memory and point at it.

    The old pointer goes first: a worker killed between posting and pointing leaves
    no pointer (the next delivery scans every note) rather than one to an older memory.
    """
    client.remember_memory_note(pid, iid, None)
    note_id = client.create_note(pid, iid, body)
    client.remember_memory_note(pid, iid, note_id)
    return note_id


def _open_drill(drill: OpenDrill, delivery: Delivery, outcome: Applied, followups: FollowUps | None) -> None:
    """Open the drill issue (or find the one a killed attempt opened), queue its declaration; a refusal is kept."""
    event = delivery.event
    try:
        outcome.drill = open_drill(delivery.gitlab, event.project_id, event.iid, drill, event.delivery_id)
    except PermanentGitLabError as exc:
        delivery.log.warning("drill %s not opened from %s#%s: %s", drill.scenario, event.project_id, event.iid, exc)
        outcome.drill_error = str(exc)
        return
    iid, url, opened = outcome.drill
    outcome.writes += ["create_issue", "link_issues"] if opened else []
    if followups is not None:
        followups.declare_drill(drill, delivery, iid, url)


def _open_review(
    client: GitLabClient, pid: int, iid: int, review: OpenReview, *, confidential: bool
) -> tuple[int, str, bool]:
    """The review issue (iid, url, opened now): a worker killed after opening it finds it on retry.

    A confidential incident's review carries its title and timeline, so it is confidential too (the issue
    as the worker read it from GitLab; a delivery's `confidential` is also set by an internal note).
    """
    for found_iid, title, url in client.linked_issues(pid, iid):
        if title == review.title:
            return found_iid, url, False
    review_iid, review_url = client.create_issue(
        pid, review.title, review.description, review.labels, confidential=confidential
    )
    client.link_issues(pid, iid, pid, review_iid)
    return review_iid, review_url, True


def log_plan(plan: Plan, event: Event, logger: logging.Logger = log) -> None:
    """Dry-run: say what would be done, write nothing."""
    if plan.empty:
        logger.info("dry-run: nothing to do for %s#%s", event.project_id, event.iid)
        return
    for line in plan.describe():
        logger.info("dry-run: would %s", line)
