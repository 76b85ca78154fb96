"""Turn a plan into the fewest GitLab calls; or, in dry-run, into log lines only.

Per delivery: at most one issue `PUT` (labels, assignees and state together),
the GraphQL severity sync, on resolution the review issue and its link, the
notification and reminder jobs, and one note write (a new comment, or the bot's latest comment edited in place when
only its memory changed). The note goes last: it carries the memory record, so
a worker killed before it re-plans from GitLab and repeats only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..gitlab import GitLabClient, PermanentGitLabError
from ..gitlab.together import together
from ..incident import IncidentState, new_comment, strip_memory, with_delivery, write_memory
from ..plan import (
    AddLabels,
    Assign,
    CloseIssue,
    ConfideReview,
    Notify,
    OpenDrill,
    OpenReview,
    Plan,
    PostNote,
    Remember,
    RemoveLabels,
    ScheduleInjects,
    ScheduleReminder,
    SetNativeSeverity,
    Unassign,
)
from ..text import is_username, neutralise_line
from .drills import open_drill

if TYPE_CHECKING:
    from .delivery import Delivery
    from .followups import FollowUps

log = logging.getLogger("incident_bot.apply")

REVIEW_PLACEHOLDER = "{review_url}"
DRILL_PLACEHOLDER = "{drill_url}"  # handlers.drills.DRILL_PLACEHOLDER: the `drill` command's link


@dataclass
class Applied:
    """What the executor did, for logs and tests."""

    writes: list[str] = field(default_factory=list)
    review: tuple[int, str, bool] | None = None
    drill: tuple[int, str, bool] | None = None  # the drill issue a `drill` command opened (iid, url, opened now)
    note_id: int | None = None


@dataclass(frozen=True)
class LabelChange:
    add: tuple[str, ...]
    remove: tuple[str, ...]


def label_change(plan: Plan, current: frozenset[str]) -> LabelChange:
    """The net label edit: only labels that actually change."""
    add: set[str] = set()
    remove: set[str] = set()
    for action in plan.actions:
        if isinstance(action, AddLabels):
            add.update(action.labels)
            remove.difference_update(action.labels)
        elif isinstance(action, RemoveLabels):
            remove.update(action.labels)
            add.difference_update(action.labels)
    return LabelChange(add=tuple(sorted(add - current)), remove=tuple(sorted(remove & current)))


def new_memory(plan: Plan, state: IncidentState, event: Event) -> dict[str, Any]:
    """The memory after this plan: Remember actions applied in order, the delivery recorded."""
    memory = dict(state.memory)
    for action in plan.of(Remember):
        memory[action.key] = action.value
    return with_delivery(memory, event.delivery_id, new_comment(event), state.memory_note_id if state.memory else None)


def note_body(plan: Plan) -> str:
    """The sections of this delivery's comment, joined."""
    return "\n\n".join(section.body.strip() for section in plan.of(PostNote) if section.body.strip())


def apply_plan(
    plan: Plan,
    state: IncidentState,
    delivery: Delivery,
    *,
    followups: FollowUps | None = None,
    finish: Callable[[Plan], Plan] | None = None,
) -> Applied:
    """Execute the plan against GitLab with the fewest calls, through the delivery's bound client.

    `finish` completes the plan's comment once the issue itself is written (past incidents read
    from the index), so the first write does not wait for it.
    """
    outcome = Applied()
    if plan.empty:
        return outcome
    event, client = delivery.event, delivery.gitlab
    pid, iid = event.project_id, event.iid
    labels = label_change(plan, state.labels)
    assignee_ids, unknown = _assignees(plan, state, client)
    state_event = None
    if plan.of(CloseIssue) and state.issue.state != "closed":
        state_event = "close"
    edit = IssueEdit(labels, assignee_ids, state_event)
    outcome.writes += _write_issue(plan, edit, delivery)
    if finish is not None:
        plan = finish(plan)
    body = note_body(plan)
    if unknown:
        # A rotation naming someone GitLab does not know: say so where responders will read it.
        names = ", ".join(f"`{u}`" if is_username(u) else neutralise_line(u) for u in unknown)
        body += f"\n\n**Not assigned**: {names} is not a GitLab user; check the rotation in `rules/`."
    remembered = bool(plan.of(Remember))
    memory = new_memory(plan, state, event)
    for review in plan.of(OpenReview)[:1]:
        existing = state.memory.get("review")
        if existing:
            outcome.review = (int(existing["iid"]), str(existing.get("url", "")), False)
        else:
            # A worker killed after opening the review but before the note retries: find it, don't open another.
            try:
                outcome.review = _open_review(client, pid, iid, review, confidential=state.issue.confidential)
            except PermanentGitLabError as exc:
                delivery.log.warning("review issue not opened for %s#%s: %s", pid, iid, exc)
                body = body.replace(REVIEW_PLACEHOLDER, f"not possible ({exc}); please open one by hand")
                continue
            outcome.writes += ["create_issue", "link_issues"] if outcome.review[2] else []
            memory["review"] = {
                "iid": outcome.review[0],
                "url": outcome.review[1],
                "confidential": state.issue.confidential,
            }
        body = body.replace(REVIEW_PLACEHOLDER, outcome.review[1] or f"#{outcome.review[0]}")
    for confide in plan.of(ConfideReview)[:1]:
        client.update_issue(pid, confide.iid, confidential=True)
        outcome.writes.append("update_review")
    for drill in plan.of(OpenDrill)[:1]:
        body = _open_drill(drill, delivery, body, outcome, followups)
    if followups is not None and (plan.of(Notify) or plan.of(ScheduleReminder) or plan.of(ScheduleInjects)):
        # Before the note, which records the delivery as applied: a worker killed in between
        # enqueues them again on retry, and their own keys keep anyone from being told twice.
        followups(plan, delivery, state)
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
    return outcome


@dataclass(frozen=True)
class IssueEdit:
    """The one `PUT` of the incident: labels, assignees (None: unchanged), state."""

    labels: LabelChange
    assignee_ids: list[int] | None
    state_event: str | None

    @property
    def empty(self) -> bool:
        return not (self.labels.add or self.labels.remove or self.assignee_ids is not None or self.state_event)


def _write_issue(plan: Plan, edit: IssueEdit, delivery: Delivery) -> list[str]:
    """The issue's `PUT` and the native severity (GraphQL) sent together: one round trip; the writes made.

    Both land before the note that records the delivery as applied, so a failure of either is retried.
    """
    event, client = delivery.event, delivery.gitlab
    pid, iid = event.project_id, event.iid
    writes: list[str] = []
    calls: list[Callable[[], Any]] = []
    if not edit.empty:
        labels = edit.labels
        calls.append(lambda: client.update_issue(
            pid, iid, add_labels=labels.add, remove_labels=labels.remove,
            assignee_ids=edit.assignee_ids, state_event=edit.state_event,
        ))  # fmt: skip
        writes.append("update_issue")
    for severity in plan.of(SetNativeSeverity)[-1:]:

        def native(wanted: str = severity.severity) -> None:
            try:
                client.set_native_severity(event.project_path or str(pid), iid, wanted)
                writes.append("set_native_severity")
            except PermanentGitLabError as exc:
                # A courtesy: a refusal (no permission, no native severity on this tier) must not stop the rest.
                delivery.log.warning("native severity not set for %s#%s: %s", pid, iid, exc)

        calls.append(native)
    together(*calls)
    return writes


def _new_memory_note(client: GitLabClient, pid: int, iid: int, body: str) -> int:
    """Post the note carrying the memory and point at it.

    The old pointer goes first: a worker killed between posting and pointing leaves
    no pointer (the next delivery scans every note) rather than one to an older memory.
    """
    client.remember_memory_note(pid, iid, None)
    note_id = client.create_note(pid, iid, body)
    client.remember_memory_note(pid, iid, note_id)
    return note_id


def _open_drill(drill: OpenDrill, delivery: Delivery, body: str, outcome: Applied, followups: FollowUps | None) -> str:
    """Open the drill issue (or find the one a killed attempt opened), queue its declaration; the reply, linked."""
    event = delivery.event
    try:
        outcome.drill = open_drill(delivery.gitlab, event.project_id, event.iid, drill, event.delivery_id)
    except PermanentGitLabError as exc:
        delivery.log.warning("drill %s not opened from %s#%s: %s", drill.scenario, event.project_id, event.iid, exc)
        return body.replace(DRILL_PLACEHOLDER, f"not possible ({exc})")
    iid, url, opened = outcome.drill
    outcome.writes += ["create_issue", "link_issues"] if opened else []
    if followups is not None:
        followups.declare_drill(drill, delivery, iid, url)
    return body.replace(DRILL_PLACEHOLDER, url or f"#{iid}")


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


def _assignees(plan: Plan, state: IncidentState, client: GitLabClient) -> tuple[list[int] | None, list[str]]:
    """The full assignee list after this plan (GitLab replaces it; None: unchanged), and unknown usernames."""
    current = dict(zip(state.issue.assignees, state.issue.assignee_ids, strict=False))
    wanted = [u for a in plan.of(Assign) for u in a.usernames if u not in current]
    leaving = {u for a in plan.of(Unassign) for u in a.usernames if u in current}
    if not wanted and not leaving:
        return None, []
    ids = [uid for name, uid in current.items() if name not in leaving]
    unknown = []
    names = list(dict.fromkeys(wanted))
    found = together(*(partial(client.user_id, name) for name in names))  # every lookup in one round trip
    for username, uid in zip(names, found, strict=True):
        if uid is None:
            unknown.append(username)
        elif uid not in ids:
            ids.append(uid)
    return (None if ids == list(current.values()) else ids), unknown


def log_plan(plan: Plan, event: Event, logger: logging.Logger = log) -> None:
    """Dry-run: say what would be done, write nothing."""
    if plan.empty:
        logger.info("dry-run: nothing to do for %s#%s", event.project_id, event.iid)
        return
    for line in plan.describe():
        logger.info("dry-run: would %s", line)
