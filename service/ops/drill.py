"""Opening a drill from the command line (`incident-bot drill`), and the declaration a drill the bot opened needs.

GitLab sends the Issue Hook of an issue the bot opened, but the receiver drops the bot's own events;
so whoever opens a drill (this command, or the worker for `@bot drill`) queues the Issue Hook `open`
GitLab would have sent, under a delivery id fixed by the issue, and the bot declares the drill as any
incident: staffing, checklists, reminders, and the drill's injects.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..events import Actor
from ..gitlab.ops import OpsGitLab
from ..queue import EventQueue
from ..rules import RuleSet
from ..rules.drills import drill_issue
from .reconcile import synthetic_payload

log = logging.getLogger("incident_bot.drills")


def declaration_id(project_id: int, iid: int) -> str:
    """The delivery id of a drill's queued declaration: one per drill issue, however often it is asked."""
    return f"drill-open-{project_id}-{iid}"


def declaration_payload(
    project_id: int,
    project_path: str,
    iid: int,
    url: str,
    issue: tuple[str, str, Iterable[str]],
    actor: Actor | None = None,
) -> dict[str, Any]:
    """The Issue Hook `open` GitLab would have sent for the drill issue (`issue`: title, description, labels)."""
    title, description, labels = issue
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {
        "iid": iid,
        "project_id": project_id,
        "title": title,
        "description": description,
        "web_url": url,
        "state": "opened",
        "labels": list(labels),
        "created_at": stamp,
        "updated_at": stamp,
    }
    payload = synthetic_payload(fields, project_path, "open")
    if actor is not None and actor.username:
        payload["user"] = {"id": actor.id, "username": actor.username, "name": actor.name}
    else:
        payload["user"]["name"] = "incident-bot drill"
    return payload


def declare(queue: EventQueue, payload: dict[str, Any]) -> str:
    """Queue the drill's declaration (deduplicated by its delivery id); the outcome (queued, duplicate, ...)."""
    project_id, iid = int(payload["project"]["id"]), int(payload["object_attributes"]["iid"])
    ident = declaration_id(project_id, iid)
    meta = {"delivery_id": ident, "event_uuid": None, "event": "Issue Hook", "received_at": time.time()}
    body = json.dumps(payload).encode()
    result = queue.enqueue(body, meta, delivery_id=ident, issue_key=f"{project_id}:{iid}", actor="")
    return str(result.outcome)


def unknown_scenario(name: str, rules: RuleSet) -> str | None:
    """Why `name` is no scenario (listing the known ones), or None."""
    if name in rules.drills:
        return None
    known = ", ".join(sorted(rules.drills)) or "none (add rules/drills/*.yml)"
    return f"unknown drill scenario {name!r}; known scenarios: {known}"


def preview(rules: RuleSet, scenario: str, project: str) -> str:
    """What `--dry-run` prints: the issue that would be opened, as participants would see it."""
    issue = drill_issue(rules.drills[scenario], rules)
    return "\n".join(
        [
            f"would open in {project}: {issue.title}",
            f"labels: {', '.join(issue.labels)}",
            "description:",
            *(f"  {line}" for line in issue.description.splitlines()),
        ]
    )


def open_drill(api: OpsGitLab, rules: RuleSet, scenario: str, project: str, queue: EventQueue | None) -> str:
    """Open the drill issue in `project`, queue its declaration (when Redis is given); the issue's URL.

    Raises GitLabError when GitLab refuses; a declaration that cannot be queued is said on stderr (the
    webhook declares it when the token is a person's, and the next reconcile pass in any case).
    """
    ns = api.namespace("projects", project)
    issue = drill_issue(rules.drills[scenario], rules)
    created = api.create_issue(ns, issue.title, issue.description, issue.labels)
    iid, url = int(created["iid"]), str(created.get("web_url") or "")
    if queue is not None:
        try:
            payload = declaration_payload(ns.id, ns.path, iid, url, (issue.title, issue.description, issue.labels))
            log.info("drill %s#%s: declaration %s", ns.path, iid, declare(queue, payload))
        except Exception as exc:  # noqa: BLE001 - the issue exists; reconcile declares it if Redis is down now
            print(
                f"incident-bot drill: declaration not queued ({type(exc).__name__}: {exc}); "
                "the next reconcile pass declares it",
                file=sys.stderr,
            )
    return url
