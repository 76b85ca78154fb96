"""`incident-bot reconcile`: heal what GitLab never delivered.

GitLab does not redeliver a failed webhook, and a paused or disabled hook delivers nothing. This pass
lists the incidents updated since the last pass, compares each with the bot's memory of it (the hidden
record in its latest note), and for each that differs enqueues a synthetic Issue Hook delivery built
from the issue as GitLab has it now, through the same EventQueue as real deliveries: the same
per-issue order, and a deterministic delivery id (`reconcile-<project>-<iid>-<updated_at>`) so a
second pass, another worker, or a real delivery racing it cannot make it apply twice. The normal
planner then brings the incident up to date exactly once. Then each command in a comment newer than the
last one the bot handled is queued as its Note Hook (`service.ops.comments`), oldest first.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis

from ..events import INCIDENT_TYPE, is_incident, issue_type_of
from ..gitlab import GitLabClient, GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..incident import find_memory, last_handled_note, memory_in
from ..queue import EventQueue
from ..rules import RuleSet
from .comments import note_delivery_id, unhandled_commands

log = logging.getLogger("incident_bot.ops")

DEFAULT_PERIOD = timedelta(minutes=10)
FIRST_RUN_SINCE = timedelta(days=1)  # no previous pass recorded: look back a day
OVERLAP = timedelta(minutes=2)  # GitLab's clock and ours may differ; the delivery id makes overlap harmless
SOURCE = "reconcile"
NOT_CHECKED = "not checked"
WOULD_QUEUE = "would queue"  # --dry-run


@dataclass(frozen=True)
class Repair:
    """One incident reconcile found out of date, and what it did about it."""

    reference: str  # group/project#iid
    why: str
    action: str  # the synthetic delivery's action: open, update, close, reopen
    delivery_id: str
    # queued, deferred (behind the issue's pending event), duplicate (already queued), would queue, not checked
    outcome: str


def _levels(rules: RuleSet, labels: set[str]) -> tuple[int | None, str | None, str | None]:
    """Severity, phase and category as the planner reads them from labels."""
    severities = [s.level for s in rules.severities.values() if s.label in labels]
    phases = [p.name for p in rules.phases if p.label in labels]
    category = next((c.name for c in rules.categories.values() if c.label in labels), None)
    return (min(severities) if severities else None), (phases[-1] if phases else None), category


def difference(issue: dict[str, Any], memory: dict[str, Any], rules: RuleSet) -> tuple[str, str] | None:
    """Why GitLab's state differs from what the bot last handled, and the action to replay; None when it does not."""
    labels = {str(label) for label in issue.get("labels") or []}
    closed = issue.get("state") == "closed"
    # The last phase is where closing leads (the shipped `close-resolves` rule); reopening leaves it.
    resolved = rules.phases[-1].name if rules.phases else None
    if not memory.get("declared"):
        return "never handled by the bot", "close" if closed else "open"
    if closed and memory.get("phase") != resolved:
        return "closed since the bot last handled it", "close"
    if not closed and resolved is not None and memory.get("phase") == resolved:
        return "reopened since the bot last handled it", "reopen"
    severity, phase, category = _levels(rules, labels)
    for what, now, before in (
        ("severity", severity, memory.get("severity")),
        ("phase", phase, memory.get("phase")),
        ("category", category, memory.get("category")),
    ):
        if now != before:
            return f"{what} is {now or 'none'} in GitLab, {before or 'none'} when the bot last handled it", "update"
    return None


def delivery_id(project_id: int, iid: int, updated_at: str) -> str:
    """Deterministic per issue version: every pass and every worker names the same repair the same way."""
    return f"{SOURCE}-{project_id}-{iid}-{re.sub(r'[^0-9]', '', updated_at)[:17]}"


def synthetic_payload(issue: dict[str, Any], project_path: str, action: str) -> dict[str, Any]:
    """An Issue Hook body built from the issue as GitLab has it now (what GitLab would have sent)."""
    labels = [{"title": str(name)} for name in issue.get("labels") or []]
    assignees = [
        {"id": a.get("id"), "username": a.get("username"), "name": a.get("name", "")}
        for a in issue.get("assignees") or []
        if isinstance(a, dict)
    ]
    attributes = {
        "id": issue.get("id"),
        "iid": int(issue["iid"]),
        "title": issue.get("title") or "",
        "description": issue.get("description") or "",
        "url": issue.get("web_url") or "",
        "state": issue.get("state") or "opened",
        "action": action,
        "confidential": bool(issue.get("confidential")),
        "type": INCIDENT_TYPE if is_incident(issue_type_of(issue), labels=()) else "Issue",  # labels: below
        "severity": str(issue.get("severity") or "unknown").lower(),
        "created_at": issue.get("created_at"),
        "updated_at": issue.get("updated_at"),
        "labels": labels,
        "project_id": int(issue["project_id"]),
    }
    return {
        "object_kind": "issue",
        "event_type": "issue",
        # No user: the bot's own events are dropped, and no person caused this delivery.
        "user": {"id": None, "username": "", "name": "incident-bot reconcile"},
        "project": {"id": int(issue["project_id"]), "path_with_namespace": project_path},
        "object_attributes": attributes,
        "labels": labels,
        "assignees": assignees,
        "changes": {},
    }


def bot_memory(client: GitLabClient, project_id: int, iid: int, bot: str) -> tuple[dict[str, Any], int | None]:
    """The bot's memory of an issue and the note holding it, found as the delivery job finds them: by the note Redis
    points at, else by reading the notes newest first. Read only: the job, not reconcile, keeps the pointer."""
    pointer = client.memory_note(project_id, iid)
    memory = memory_in(client.get_note(project_id, iid, pointer), bot) if pointer is not None else None
    if memory is not None:
        return memory, pointer
    memory, note = find_memory(client.iter_notes(project_id, iid), bot)
    return memory, note.id if note is not None else None


def _project_path(issue: dict[str, Any], ns: Namespace) -> str:
    full = str((issue.get("references") or {}).get("full") or "")
    return full.split("#", 1)[0] if "#" in full else ns.path


class Reconciler:
    """One reconcile pass over projects or groups."""

    def __init__(
        self,
        api: OpsGitLab,
        client: GitLabClient,
        queue: EventQueue,
        rules: RuleSet,
        connection: Redis,
        *,
        bot_username: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        dry_run: bool = False,
    ):
        self.api = api
        self.client = client
        self.queue = queue
        self.rules = rules
        self.connection = connection
        self.bot_username = bot_username
        self.clock = clock
        self.dry_run = dry_run

    def since(self, ns: Namespace) -> datetime:
        """Where this pass starts: the last pass (a little before), else a day ago."""
        raw = self.connection.get(self.queue.keys.reconcile_last(ns.kind, ns.id))
        if raw:
            return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else str(raw)) - OVERLAP
        return self.clock() - FIRST_RUN_SINCE

    def incidents(self, ns: Namespace, since: datetime) -> list[dict[str, Any]]:
        """Incidents (labelled, or of type Incident) updated since `since`, open or closed."""
        after = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        common = {"updated_after": after, "state": "all", "scope": "all", "order_by": "updated_at", "sort": "asc"}
        found: dict[tuple[int, int], dict[str, Any]] = {}
        for extra in ({"labels": self.rules.incident_label}, {"issue_type": "incident"}):
            for issue in self.api.issues(ns, {**common, **extra}):
                found[(int(issue["project_id"]), int(issue["iid"]))] = issue
        return sorted(found.values(), key=lambda i: (str(i.get("updated_at")), int(i["iid"])))

    def run(self, ns: Namespace, since: datetime | None = None) -> list[Repair]:
        """Compare every recently updated incident with the bot's memory; enqueue a delivery for each that differs."""
        started = self.clock()
        since = since or self.since(ns)
        bot = self.bot_username or str(self.api.current_user().get("username") or "")
        repairs = []
        for issue in self.incidents(ns, since):
            project_id, iid = int(issue["project_id"]), int(issue["iid"])
            path = _project_path(issue, ns)
            try:
                memory, memory_note = bot_memory(self.client, project_id, iid, bot)
                attributes = synthetic_payload(issue, path, "update")["object_attributes"]
                after = last_handled_note(memory, memory_note)
                notes = self.api.notes(project_id, iid)
                commands = unhandled_commands(notes, after, attributes, path, bot, self.rules.incident_label)
            except GitLabError as exc:
                # One unreadable issue must not stop the pass; it is looked at again next time.
                log.warning("reconcile: %s#%s not checked: %s", path, iid, exc)
                repairs.append(Repair(f"{path}#{iid}", f"not checked: {exc}", "-", "-", NOT_CHECKED))
                continue
            found = difference(issue, memory, self.rules)
            if found is not None:
                repairs.append(self._enqueue(issue, path, *found))
            # After the state repair, in the issue's order: each command as if its comment had just arrived.
            repairs += [self._replay(issue, path, body, command, bot) for body, command in commands]
        if not self.dry_run and not any(r.outcome == NOT_CHECKED for r in repairs):
            # Only a complete pass moves the window on; otherwise the next pass looks at the same issues again.
            self.connection.set(self.queue.keys.reconcile_last(ns.kind, ns.id), started.isoformat())
        return repairs

    def _enqueue(self, issue: dict[str, Any], path: str, why: str, action: str) -> Repair:
        project_id, iid = int(issue["project_id"]), int(issue["iid"])
        ident = delivery_id(project_id, iid, str(issue.get("updated_at") or ""))
        if self.dry_run:
            return Repair(f"{path}#{iid}", why, action, ident, WOULD_QUEUE)
        body = json.dumps(synthetic_payload(issue, path, action)).encode()
        meta = {"delivery_id": ident, "event_uuid": None, "event": "Issue Hook", "received_at": time.time()}
        result = self.queue.enqueue(body, meta, delivery_id=ident, issue_key=f"{project_id}:{iid}", actor="")
        repair = Repair(f"{path}#{iid}", why, action, ident, str(result.outcome))
        if result.outcome != "duplicate":
            log.info("reconcile: %s %s: %s; queued %s as %s", path, iid, why, action, ident)
        return repair

    def _replay(self, issue: dict[str, Any], path: str, body: dict[str, Any], command: str, bot: str) -> Repair:
        project_id, iid = int(issue["project_id"]), int(issue["iid"])
        note_id, author = int(body["object_attributes"]["id"]), str(body["user"]["username"])
        ident = note_delivery_id(project_id, iid, note_id)
        why = f"`@{bot} {command}` by @{author} (comment {note_id}) was never applied"
        if self.dry_run:
            return Repair(f"{path}#{iid}", why, "comment", ident, WOULD_QUEUE)
        hook = "Confidential Note Hook" if body["issue"].get("confidential") else "Note Hook"
        meta = {"delivery_id": ident, "event_uuid": None, "event": hook, "received_at": time.time()}
        data, key = json.dumps(body).encode(), f"{project_id}:{iid}"
        result = self.queue.enqueue(data, meta, delivery_id=ident, issue_key=key, actor=author)
        if result.outcome != "duplicate":
            log.info("reconcile: %s %s: %s; queued as %s", path, iid, why, ident)
        return Repair(f"{path}#{iid}", why, "comment", ident, str(result.outcome))


def reconcile_periodically(
    reconciler: Reconciler,
    namespaces: Iterable[Namespace],
    *,
    period: timedelta = DEFAULT_PERIOD,
) -> list[Repair] | None:
    """The scheduled pass: at most one per period and one at a time across every worker; None when skipped."""
    connection = reconciler.connection
    seconds = max(int(period.total_seconds()), 1)
    # Every worker's scheduler may fire; the first to claim this period runs, the others skip.
    if not connection.set(reconciler.queue.keys.reconcile_ran, "1", nx=True, ex=max(seconds - 5, 1)):
        return None
    lock = connection.lock(reconciler.queue.keys.reconcile_lock, timeout=seconds * 3, blocking=False)
    if not lock.acquire():
        return None
    try:
        repairs: list[Repair] = []
        for ns in namespaces:
            repairs += reconciler.run(ns)
        return repairs
    except BaseException as exc:
        # The worker is stopping: its job goes back to the queue and runs again (each project done moved its
        # own window on: the rerun resumes there).
        if not isinstance(exc, Exception):
            connection.delete(reconciler.queue.keys.reconcile_ran)
        raise
    finally:
        lock.release()


def describe(repairs: Sequence[Repair]) -> str:
    """What a pass repaired, one line each (for the command and the logs)."""
    done = [r for r in repairs if r.outcome not in ("duplicate", NOT_CHECKED)]
    skipped = [r for r in repairs if r.outcome == NOT_CHECKED]
    if not done:
        lines = ["reconcile: every incident is as the bot last handled it; nothing queued"]
    else:
        verb = "to queue (dry run)" if all(r.outcome == WOULD_QUEUE for r in done) else "queued for the normal planner"
        lines = [f"reconcile: {len(done)} repair(s) {verb}"]
        lines += [f"  {r.reference}: {r.why} → {r.action} ({r.outcome}, {r.delivery_id})" for r in done]
    lines += [f"  {r.reference}: {r.why}" for r in skipped]
    return "\n".join(lines)
