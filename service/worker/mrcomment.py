"""A merge request named as an incident's cause learns of it: one comment linking the incident (`CommentOnCause`).

Planned by `cause <ref>` (`handlers/causes.py`) unless the incident is confidential or `suspects.comment_on_cause`
is false; the executor calls `comment_on_causes` only once `record_causes` recorded the cause (an unknown reference,
no index or the index down record none, and tell no merge request). A merge request reference is commented on
directly; a deployment's merge requests come from the index (read from GitLab once, `worker/mergerequests.py`).
Each comment carries a marker naming the incident, and the merge request's comments are read first (newest first, every
page up to `gitlab.changes.MAX_NOTE_PAGES`; only the bot's own count, anyone can type the marker): a redelivered
or retried delivery, or the same cause named again, posts nothing twice. The issue's state is read again here, so
an incident made confidential since planning tells no merge request. What GitLab refuses is said, never raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..changes.cause import CommentOnCause, RefKind
from ..changes.suspects import SuspectScope
from ..gitlab import GitLabError, UnexpectedAnswer
from ..text import ref, ref_text
from .index import index_guard
from .mergerequests import merge_requests
from .scope import incident_scope

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..plan import Plan
    from .delivery import Delivery
    from .index import DeliveryIndex

MAX_COMMENTS = 10  # merge requests of one deployment told at most
FAILURE = "incident index not read for the cause's merge requests"


def marker(action: CommentOnCause, delivery: Delivery) -> str:
    """What a comment of this incident's carries (the incident's project id and iid: stable across renames)."""
    return f"<!-- incident-bot cause-of {delivery.event.project_id}#{delivery.event.iid} -->"


def body(action: CommentOnCause, delivery: Delivery) -> str:
    """The comment: the incident linked (its reference as text when its URL is no plain http(s) one)."""
    link = ref_text(action.incident, action.url)
    return f"This merge request was named as the cause of incident {link}.\n\n{marker(action, delivery)}"


def comment_on_causes(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> str | None:
    """Carry out the plan's last `CommentOnCause`: what was commented on, for the confirmation (None: nothing)."""
    actions: list[CommentOnCause] = plan.of(CommentOnCause)
    if not actions or delivery.client is None or state.issue.confidential:
        return None
    action = actions[-1]
    targets = _targets(action, delivery, incident_scope(delivery, state.issue, delivery.clock(), False), index)
    told = [shown for project, iid, shown in targets[:MAX_COMMENTS] if _comment(action, delivery, project, iid)]
    return f"Commented on {', '.join(told)}, linking this incident." if told else None


def _targets(
    action: CommentOnCause, delivery: Delivery, scope: SuspectScope, index: DeliveryIndex | None
) -> list[tuple[int | str, int, str]]:
    """(project, iid, reference shown) of each merge request to tell, in the incident's `scope` as `record_causes`
    found it (a deployment: one the incident may name). A merge request is told only once `record_causes` recorded
    it (a project the index knows, in scope), so its reference is the bot's own: live."""
    cause, event = action.ref, delivery.event
    if cause.kind is RefKind.MERGE_REQUEST:
        assert cause.number is not None
        elsewhere = cause.path is not None and cause.path.lower() != scope.project_path.lower()
        if elsewhere and not scope.sees(0, cause.path or ""):  # as record_causes refused it (0: no project's id)
            return []
        return [(cause.path or event.project_id, cause.number, ref(cause.path, "!", cause.number))]
    store = index.store(delivery.rules, delivery.bot_username) if index is not None else None
    if store is None:
        return []
    from ..store.causes import deployments_named  # SQLAlchemy loads with the index, not with the worker

    found: list[tuple[int | str, int, str]] = []
    with index_guard(delivery.log, FAILURE):
        named = deployments_named(store.engine, deployment_id=cause.number, url=cause.text or None)
        deployed = [d for d in named if scope.sees(d.project_id, d.project_path)][:1]
        for mrs in merge_requests(store, delivery, deployed).values():
            found += [(mr.project_id, mr.iid, ref_text(mr.reference or f"!{mr.iid}")) for mr in mrs]
    return found


def _comment(action: CommentOnCause, delivery: Delivery, project: int | str, iid: int) -> bool:
    """Comment once on the merge request; True when it now has this incident's comment (posted now or before)."""
    client, mark = delivery.gitlab, marker(action, delivery)
    try:
        # Only the bot's own comment counts: anyone can paste the marker into theirs.
        if any(n.author == delivery.bot_username and mark in n.body for n in client.merge_request_notes(project, iid)):
            return True
        client.comment_on_merge_request(project, iid, body(action, delivery))
    except (GitLabError, UnexpectedAnswer) as exc:
        # Refused, or comments the bot cannot read (it cannot tell whether it already commented): said, not raised.
        delivery.log.warning("no comment on merge request %s!%s: %s", project, iid, exc)
        return False
    return True
