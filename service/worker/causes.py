"""`cause <ref>` carried out: the planned `RecordCause` resolved in the index and recorded there, and its confirmation.

The executor calls `record_causes` after the issue write (`apply_plan`); it resolves the reference against the
index (a deployment by id or job URL among the projects the incident may name, a project by path, a flag by
name), writes `store.causes.record_cause`, and returns the confirmation that the `CauseNote` enricher (`confirm`)
puts in the comment. With a deployment as the cause the confirmation names the previous successful deployment
of that environment and its job, for a person to re-run: a hint, never an action. The index's one failure policy
holds: no index, or one that cannot be written, is said in the reply, never a failed delivery. The executor tells
the cause's merge requests (`worker/mrcomment.py`) only when `Recorded.named` says it is recorded.

When a merge request is named as the cause and no indexed deployment is known to carry it, the merge requests of
its project's newest successful production deployments before the incident started that were never read (at most
`MAX_CARRIER_READS`, `store.mergerequests.unread`) are read through the suspects' reads (`worker/mergerequests.py`:
sent together, kept in the index), so `report --changes` finds the deployment that carried it. GitLab failing
costs only those reads; a dry run reads nothing.

A cause recorded (or cleared) is also a "cause confirmed" ("cause cleared") event in the incident's timeline in
the index, and the confirmation carries its marker, so reindex reads the same event, and the cause as recorded,
back from GitLab (`store.cause_events`; the "alerts resolved" event is kept the same way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..changes.cause import RecordCause, RefKind
from ..changes.hooks import Deployment
from ..changes.suspects import SuspectScope
from ..parts import CauseNote
from ..text import md_link, mention, neutralise_line
from ..text import ref as ref_of
from .index import index_guard
from .mergerequests import merge_requests
from .scope import incident_scope

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..plan import Plan
    from ..store import Store
    from ..store.causes import Cause
    from .delivery import Delivery
    from .enrich import Sources
    from .index import DeliveryIndex

    # `_record`'s answer: what to say, the change as the timeline names it, the cause as recorded
    Found = tuple[str, str | None, Cause | None]

FAILURE = "incident index not written for the cause"
CARRIERS_FAILURE = "incident index not read for the deployments that carried the cause"
MAX_CARRIER_READS = 20  # deployments whose merge requests one `cause !<iid>` reads from GitLab at most
OUT_OF_SCOPE = "not a change this incident's suspects cover (its project, and those its areas share)"
NO_INDEX = "*This worker keeps no incident index, so the cause is not recorded.*"
NOT_WRITTEN = "*The cause is not recorded (nothing was written).*"
UNAVAILABLE = "*The incident index cannot be written right now, so the cause is not recorded; try again later.*"


class Recorded(NamedTuple):
    """What `record_causes` did: what the reply says, and whether a cause is now recorded (the executor tells the
    cause's merge requests only then)."""

    said: str
    named: bool


def record_causes(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> Recorded | None:
    """Carry out the plan's last `RecordCause` (None: it has none); the confirmation, or why nothing was recorded."""
    actions: list[RecordCause] = plan.of(RecordCause)
    if not actions:
        return None
    store = index.store(delivery.rules, delivery.bot_username) if index is not None else None
    if store is None:
        return Recorded(NO_INDEX if index is None else UNAVAILABLE, False)
    scope = incident_scope(delivery, state.issue, delivery.clock(), state.issue.confidential)
    said, named = UNAVAILABLE, None
    with index_guard(delivery.log, FAILURE):
        said, named, cause = _record(store, actions[-1], scope, delivery)
        if named is not None:
            said += "\n\n" + _timeline(store, delivery, named or None, actions[-1].by, cause)
    return Recorded(said, bool(named))


def _timeline(store: Store, delivery: Delivery, named: str | None, by: str, cause: Cause | None) -> str:
    """The "cause confirmed" (or, `named` None, "cleared") event in the incident's timeline in the index, and the
    marker of the reply that lets reindex read the same event, and the `cause` recorded, back (`store.cause_events`)."""
    from ..store import EventKind  # as below: SQLAlchemy loads with the index
    from ..store.cause_events import cause_event, marker  # SQLAlchemy loads with the index

    event, pid, iid = cause_event(delivery.clock(), named, by), delivery.event.project_id, delivery.event.iid
    last = [e for e in store.timeline(pid, iid) if e.kind is EventKind.CAUSE][-1:]
    if last and (last[0].name, last[0].value_to, last[0].actor) == (event.name, event.value_to, event.actor):
        return marker(last[0], cause)  # the same cause said again (a delivery retried after the event): that event
    if not store.add_events(pid, iid, [event]):
        delivery.log.info("cause %s: the index has no %s#%s yet (reindex adds it)", event.name, pid, iid)
    return marker(event, cause)


def confirm(sources: Sources, parts: list[CauseNote]) -> dict[Any, str | None]:
    """The `CauseNote`: what `record_causes` said (the executor keeps it in `Applied.cause`)."""
    written = sources.written
    said = written.cause if written is not None and written.cause else NOT_WRITTEN
    return dict.fromkeys(parts, said)


def _record(store: Store, action: RecordCause, scope: SuspectScope, delivery: Delivery) -> Found:
    """What to say, the change recorded as the timeline names it (None: nothing recorded; "": cleared), and the
    cause as `record_cause` wrote it (None: cleared or nothing)."""
    from ..store.causes import Cause, CauseKind, record_cause  # SQLAlchemy loads with the index

    pid, iid, now, by = scope.project_id, delivery.event.iid, delivery.clock(), mention(action.by)
    ref = action.ref
    if ref is None:
        record_cause(store.engine, pid, iid, None, now)
        return f"Cause cleared by {by}.", "", None
    if ref.kind in (RefKind.DEPLOYMENT, RefKind.DEPLOYMENT_URL):
        return _deployment(store, action, scope, delivery)
    if ref.kind is RefKind.MERGE_REQUEST:
        project = _mr_project(store, ref.path, scope)
        typed = neutralise_line(str(ref))  # until it is known and in scope, what was typed is quoted, inert
        if project is None:  # a project nobody knows
            unseen = neutralise_line(ref.path or "")
            return f"{typed}: the incident index has seen no project {unseen}; nothing recorded.", None, None
        if not scope.sees(project, ref.path or scope.project_path):
            return f"{typed} is {OUT_OF_SCOPE}; nothing recorded.", None, None
        mr = Cause(pid, iid, CauseKind.MERGE_REQUEST, project, merge_request_iid=ref.number, recorded_by=action.by)
        record_cause(store.engine, pid, iid, mr, now)
        with index_guard(delivery.log, CARRIERS_FAILURE):
            _carriers(store, delivery, project, ref.number)
        assert ref.number is not None
        shown = ref_of(ref.path, "!", ref.number)  # the bot's own reference, to a project the index knows: live
        return f"Cause recorded by {by}: merge request {shown}.", f"merge request {ref}", mr
    seen = [p for p, path in _flag_projects(store, ref.text) if scope.sees(p, path)]
    project = scope.project_id if not seen or scope.project_id in seen else seen[0]
    flag = Cause(pid, iid, CauseKind.FEATURE_FLAG, project, flag_name=ref.text, recorded_by=action.by)
    record_cause(store.engine, pid, iid, flag, now)
    unseen = "" if seen else " (the index has seen no switch of it)"
    said = f"Cause recorded by {by}: feature flag {neutralise_line(ref.text)}{unseen}."
    return said, f"feature flag {ref.text}", flag


def _carriers(store: Store, delivery: Delivery, project_id: int, iid: int | None) -> None:
    """When no indexed deployment is known to carry merge request `iid`: read the merge requests of the project's
    newest production deployments before the incident started that were never read (see the module docstring)."""
    from ..store.mergerequests import first_deployment, unread  # SQLAlchemy loads with the index

    if delivery.client is None or iid is None or first_deployment(store.engine, project_id, iid) is not None:
        return
    row = store.incident(delivery.event.project_id, delivery.event.iid)
    started = row.started_at if row is not None and row.started_at is not None else delivery.clock()
    environments = delivery.rules.settings.suspects.environments
    merge_requests(store, delivery, unread(store.engine, environments, project_ids=[project_id], until=started,
                                           newest=MAX_CARRIER_READS))  # fmt: skip


def _mr_project(store: Store, path: str | None, scope: SuspectScope) -> int | None:
    from ..store.causes import project_id_of  # SQLAlchemy loads with the index

    if path is None or path.lower() == scope.project_path.lower():
        return scope.project_id
    return project_id_of(store.engine, path)


def _flag_projects(store: Store, name: str) -> list[tuple[int, str]]:
    from ..store.causes import flag_projects  # SQLAlchemy loads with the index

    return flag_projects(store.engine, name)


def _deployment(store: Store, action: RecordCause, scope: SuspectScope, delivery: Delivery) -> Found:
    # SQLAlchemy loads with the index, not with the worker
    from ..store.causes import Cause, CauseKind, deployments_named, previous_deployment, record_cause

    ref, pid, iid = action.ref, scope.project_id, delivery.event.iid
    assert ref is not None
    named = deployments_named(store.engine, deployment_id=ref.number, url=ref.text or None)
    found = [d for d in named if scope.sees(d.project_id, d.project_path)]
    if not found:
        return (
            (
                f"{neutralise_line(str(ref))} is no deployment the incident index knows in this incident's projects "
                "(its Deployment Hook never arrived?); nothing recorded."
            ),
            None,
            None,
        )
    d = found[0]
    cause = Cause(pid, iid, CauseKind.DEPLOYMENT, d.project_id, deployment_id=d.deployment_id, recorded_by=action.by)
    record_cause(store.engine, pid, iid, cause, delivery.clock())
    said = f"Cause recorded by {mention(action.by)}: {_shown(d)}."
    change = f"deployment {d.deployment_id}" + (f" ({d.sha})" if d.sha else "") + f" to {d.environment}"
    return said + "\n\n" + rollback_hint(d, previous_deployment(store.engine, d)), change, cause


def _shown(d: Deployment) -> str:
    title = f" {neutralise_line(d.commit_title)}" if d.commit_title else ""
    when = f"{d.status_changed_at:%Y-%m-%d %H:%M} UTC"
    link = md_link(d.sha or str(d.deployment_id), d.deployable_url)
    return f"deployment {link}{title} to {neutralise_line(d.environment)} ({when})"


def rollback_hint(cause: Deployment, previous: Deployment | None) -> str:
    """A hint, never an action: the previous successful deployment of that environment and its job to re-run."""
    env = neutralise_line(cause.environment)
    if previous is None:
        return f"**Rollback hint**: the incident index knows no earlier successful deployment to {env}."
    job = md_link("its job", previous.deployable_url) if previous.deployable_url else "its job (no URL known)"
    return (
        f"**Rollback hint** (nothing is done for you): the previous successful deployment to {env} was "
        f"{_shown(previous)}; re-run {job} to roll back."
    )
