"""Apply an alert plan: one function per action type, then the Issue Hook GitLab would have sent, queued.

The bot's own changes never reach the queue (the edge drops the bot's events), so an incident opened,
escalated, moved, closed or reopened here is followed by the hook a person's change would have sent, under a
delivery id fixed by the change: the ordinary planner then runs the whole incident process for it, in order
behind the issue's other events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .. import logs
from ..alerts.actions import (
    CommentOnAlertIncident,
    EscalateAlertIncident,
    JoinAlertStorm,
    OpenAlertIncident,
    ReopenAlertIncident,
    ResolveAlertIncident,
    UpdateAlertTable,
)
from ..alerts.grouping import STORM_WINDOW_SECONDS, GroupRecord, GroupStore
from ..alerts.render import marker, note_marker, storm_description, with_table
from ..gitlab import GitLabClient
from ..gitlab.alerts import find_issue, project_ref, set_description
from ..incident import Issue
from ..ops.reconcile import synthetic_payload
from ..plan import Action, Plan
from ..queue import EventQueue

HOOK_NAME = "incident-bot alerts"


@dataclass
class AlertApply:
    """What applying one alert plan needs: the client, the group store, the deliveries queue, the log, now."""

    client: GitLabClient
    store: GroupStore
    deliveries: EventQueue | None
    log: logs.Bound
    delivery_id: str
    now: float
    replay: str = ""  # the hook action to queue once the plan is applied (open, update, close, reopen)
    writes: list[str] | None = None


def apply_alert_plan(plan: Plan, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    """Apply each action in order; the group's record as it stands afterwards (the caller stores it)."""
    ctx.writes = []
    record = after
    for action in plan.actions:
        record = APPLY[type(action)](action, before, record, ctx)
    if ctx.replay and record.iid is not None and record.project_id is not None:
        _queue_hook(ctx, (record.project_id, record.project_path), record.iid, ctx.replay)
    return record


def open_incident(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    """Open the group's incident, or find the one a killed attempt opened (its marker), and have it declared."""
    assert isinstance(action, OpenAlertIncident)
    ctx.store.put(replace(before, opening=after.opening))  # before GitLab creates it: a retry looks for it first
    pid, path = project_ref(ctx.client, action.project)
    found = find_issue(ctx.client, pid, after.group_id, action.opening)
    if found is None:
        iid, url = ctx.client.create_issue(
            pid, action.title, action.description, action.labels, confidential=action.confidential
        )
        ctx.writes = [*(ctx.writes or []), "create_issue"]
        if before.iid is not None and before.project_id is not None:
            ctx.client.link_issues(pid, iid, before.project_id, before.iid)
    else:
        iid, url = found
    ctx.replay = "open"
    ctx.log.info(
        "alert group %s: incident %s#%s (%s)", after.group_id, path, iid, "opened" if found is None else "found"
    )
    return replace(after, project_id=pid, project_path=path, iid=iid, url=url, opening="")


def update_table(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    assert isinstance(action, UpdateAlertTable) and after.project_id is not None and after.iid is not None
    issue = ctx.client.get_issue(after.project_id, after.iid)
    fresh = with_table(issue.description, action.table)
    if fresh != issue.description:
        set_description(ctx.client, after.project_id, after.iid, fresh)
        ctx.writes = [*(ctx.writes or []), "edit_description"]
    return after


def escalate(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    assert isinstance(action, EscalateAlertIncident) and after.project_id is not None and after.iid is not None
    ctx.client.update_issue(after.project_id, after.iid, add_labels=[action.add], remove_labels=action.remove)
    ctx.replay = ctx.replay or "update"
    return after


def comment(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    """Post the comment once: its marker is recorded before the write, and a retry that finds the marker recorded
    looks for the comment (a worker killed between GitLab's answer and the record's save) before posting."""
    assert isinstance(action, CommentOnAlertIncident) and after.project_id is not None and after.iid is not None
    token = note_marker(after.group_id, action.key) if action.key else ""
    stored = ctx.store.get(after.group_id) or before
    if token and stored.noting == token and _posted(ctx, after.project_id, after.iid, token):
        ctx.log.info("alert group %s: comment %s already posted (a retry)", after.group_id, action.key)
        return replace(after, noting="")
    if token:
        ctx.store.put(replace(stored, noting=token))
    ctx.client.create_note(after.project_id, after.iid, f"{action.body}\n\n{token}" if token else action.body)
    ctx.writes = [*(ctx.writes or []), "create_note"]
    return replace(after, noting="")


def _posted(ctx: AlertApply, pid: int, iid: int, token: str) -> bool:
    """Whether the issue already holds the bot's comment carrying `token` (read only on a retry)."""
    return any(token in note.body for note in ctx.client.iter_notes(pid, iid))


def reopen(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    assert isinstance(action, ReopenAlertIncident) and after.project_id is not None and after.iid is not None
    ctx.client.update_issue(after.project_id, after.iid, state_event="reopen")
    ctx.replay = "reopen"
    return after


def resolve(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    """`on_resolved: mitigate` moves the phase label; `close` closes the issue."""
    assert isinstance(action, ResolveAlertIncident) and after.project_id is not None and after.iid is not None
    if action.behaviour == "close":
        ctx.client.update_issue(after.project_id, after.iid, state_event="close")
        ctx.replay = "close"
    else:
        ctx.client.update_issue(
            after.project_id, after.iid, add_labels=[action.phase_label], remove_labels=action.remove
        )
        ctx.replay = ctx.replay or "update"
    return after


def join_storm(action: Action, before: GroupRecord, after: GroupRecord, ctx: AlertApply) -> GroupRecord:
    """List the group in its storm incident (the open one, or its confidential route's project's): opened with the
    first overflow of a storm, edited in place after."""
    assert isinstance(action, JoinAlertStorm)
    with ctx.store.storm(action.project if action.confidential else "") as storm:
        if ctx.now - float(storm.get("last_at") or 0) > STORM_WINDOW_SECONDS:
            storm.clear()
            storm.update(token=ctx.delivery_id, groups={})
        storm["last_at"] = ctx.now
        storm["groups"][action.group_id] = {"title": action.title, "status": action.status, "since": action.since}
        text = storm_description(storm["groups"], action.limit)
        if storm.get("iid") is None:
            _open_storm(action, storm, text, ctx)
        else:
            set_description(ctx.client, storm["project_id"], storm["iid"], text)
    return after


def _open_storm(action: JoinAlertStorm, storm: dict[str, Any], text: str, ctx: AlertApply) -> None:
    """The storm incident, found by its marker when a killed attempt opened it; declared like any incident."""
    pid, path = project_ref(ctx.client, action.project)
    token = marker("storm", str(storm["token"]))
    found = find_issue(ctx.client, pid, "storm", token)
    title = "Alert storm: many alert groups at once"
    if found is None:
        found = ctx.client.create_issue(
            pid, title, f"{text}\n\n{token}", action.labels, confidential=action.confidential
        )
    storm.update(project_id=pid, iid=found[0], url=found[1])
    _queue_hook(ctx, (pid, path), found[0], "open")


def _queue_hook(ctx: AlertApply, project: tuple[int, str], iid: int, action: str) -> None:
    """Queue the Issue Hook `action` GitLab would have sent for the issue as it is now (deduplicated by change)."""
    pid, path = project
    if ctx.deliveries is None:
        ctx.log.warning("alert incident %s#%s changed but not queued for the process: no deliveries queue", pid, iid)
        return
    issue = ctx.client.get_issue(pid, iid)
    payload = synthetic_payload(_issue_fields(issue), path, action)
    payload["user"]["name"] = HOOK_NAME
    ident = f"alert-{action}-{pid}-{iid}" if action == "open" else f"alert-{action}-{pid}-{iid}-{ctx.delivery_id}"
    meta = {"delivery_id": ident, "event_uuid": None, "event": "Issue Hook", "received_at": time.time()}
    body = json.dumps(payload).encode()
    result = ctx.deliveries.enqueue(body, meta, delivery_id=ident, issue_key=f"{pid}:{iid}", actor="")
    ctx.log.info("alert incident %s#%s: %s hook %s", pid, iid, action, result.outcome)


def _issue_fields(issue: Issue) -> dict[str, Any]:
    return {
        "iid": issue.iid,
        "project_id": issue.project_id,
        "title": issue.title,
        "description": issue.description,
        "web_url": issue.web_url,
        "state": issue.state,
        "labels": sorted(issue.labels),
        "confidential": issue.confidential,
        "issue_type": "incident",
        "severity": issue.severity,
    }


APPLY: dict[type[Action], Callable[[Action, GroupRecord, GroupRecord, AlertApply], GroupRecord]] = {
    OpenAlertIncident: open_incident,
    UpdateAlertTable: update_table,
    EscalateAlertIncident: escalate,
    CommentOnAlertIncident: comment,
    ReopenAlertIncident: reopen,
    ResolveAlertIncident: resolve,
    JoinAlertStorm: join_storm,
}
