"""The alert job: parse the notification, load its group's record, plan, apply, store the record. RQ runs it by
name (`service.jobs.ALERT_FUNC`). Notifications of one group arrive here one at a time, in order (the queue's
per-key order on `alerts:<group>`), so reading, applying and writing the record needs no lock of its own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .. import logs
from ..alerts.actions import CommentOnAlertIncident
from ..alerts.grouping import GroupRecord, GroupStore, initial
from ..alerts.payload import AlertGroup
from ..alerts.sources import parse
from ..gitlab import PermanentGitLabError
from ..handlers.alerts import AlertPlan, needs_incident, plan_alert
from ..queue import EventQueue
from ..store.model import alerts_resolved
from .alertapply import AlertApply, apply_alert_plan
from .index import index_guard
from .pure import no_retry, pure_step
from .runtime import Runtime, current

log = logging.getLogger("incident_bot.alerts")


def process_alert(body: bytes, meta: dict[str, Any]) -> str:
    """The RQ job for one alert notification; returns a one-line summary."""
    runtime = current()
    with pure_step(f"alert {meta.get('delivery_id')}"):  # the edge parsed the same body
        group = parse(str(meta.get("source", "")), body)
    blog = logs.bind(log, delivery=str(meta.get("delivery_id", "")), alert_group=group.group_id)
    if not runtime.rules.alerts.configured:
        blog.warning("alert dropped: no rules/alerts.yml (the edge accepted it under older rules)")
        return "ignored: no alerts.yml"
    try:
        return _process(runtime, group, str(meta.get("delivery_id", "")), blog)
    except PermanentGitLabError:
        no_retry()
        raise


def _plan(runtime: Runtime, group: AlertGroup, delivery_id: str, store: GroupStore | None) -> AlertPlan:
    """Load the group's record (claiming a new-groups slot when this opens an incident) and plan."""
    now = runtime.clock()
    record = store.get(group.group_id) if store is not None else None
    if store is not None and needs_incident(group, record, now.timestamp(), runtime.rules):
        record = store.claim_slot(record or initial(group), now.timestamp())
    incident_open = True
    if record and record.iid and record.project_id and record.resolved_at and group.firing and not runtime.dry_run:
        incident_open = runtime.client().get_issue(record.project_id, record.iid).state != "closed"
    return plan_alert(group, record, runtime.rules, now, incident_open=incident_open, opening=delivery_id)


def _index_resolution(runtime: Runtime, planned: AlertPlan, after: GroupRecord, blog: logs.Bound) -> None:
    """Every alert of the group resolved: an "alerts resolved" timeline event in the index (reindex reads the same
    event back from the comment's marker). The index never fails the job (`index_guard`)."""
    keys = [a.key for a in planned.plan.of(CommentOnAlertIncident) if a.key.startswith("resolved-")]
    if not keys or runtime.index is None or after.project_id is None or after.iid is None:
        return
    with index_guard(blog, "alerts resolved not kept in the index"):
        store = runtime.index.store(runtime.rules, runtime.bot_username())
        event = alerts_resolved(after.group_id, float(keys[0].removeprefix("resolved-")), runtime.bot_username())
        if store is not None and not store.add_events(after.project_id, after.iid, [event]):
            blog.info("alerts resolved: the index has no %s#%s yet (reindex adds it)", after.project_id, after.iid)


def _process(runtime: Runtime, group: AlertGroup, delivery_id: str, blog: logs.Bound) -> str:
    store = GroupStore(runtime.connection, runtime.settings.keys)
    runtime.connection.set(runtime.settings.keys.alert_last_received, f"{time.time():.0f}")  # for `doctor`
    planned = _plan(runtime, group, delivery_id, None if runtime.dry_run else store)
    for line in planned.plan.describe():
        blog.info("%splan: %s", "dry-run: " if runtime.dry_run else "", line)
    if runtime.dry_run:
        return f"dry-run: {len(planned.plan.actions)} actions"
    if planned.plan.empty:
        store.put(planned.after)
        return "nothing to do"
    before = store.get(group.group_id) or initial(group)
    settings = runtime.settings
    deliveries = runtime.followups.deliveries if runtime.followups is not None else None
    ctx = AlertApply(
        client=runtime.client(),
        store=store,
        deliveries=deliveries or EventQueue(runtime.connection, settings.queue_name, keys=settings.keys),
        log=blog,
        delivery_id=delivery_id,
        now=runtime.clock().timestamp(),
    )
    after = apply_alert_plan(planned.plan, before, planned.after, ctx)
    store.put(after)
    _index_resolution(runtime, planned, after, blog)
    summary = ", ".join(type(a).__name__ for a in planned.plan.actions)
    blog.info("applied: %s (route %s)", summary, planned.routed.route)
    return "applied: " + summary
