"""The deliveries the bot queues for its own pages: a step fallen due, an acknowledgement by link.

They go through the issue's ordered queue like GitLab's own (dedupe by delivery id, one at a time per issue),
so a step and an acknowledgement never interleave, and a step queued twice (a job retried, a restart) is one
delivery. The meta's `paging` field, which the edge never sets, tells the planner what the delivery is
(`service.handlers.paging.on_signal`); the body is a minimal Issue Hook of the incident (the worker reads the
incident itself from GitLab).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from ..queue import EventQueue

HOOK = "Issue Hook"
ACTION = "page"


def step_delivery_id(project_id: int, iid: int, page: str, step: int) -> str:
    return f"page-step-{project_id}-{iid}-{page}-{step}"


def ack_delivery_id(project_id: int, iid: int, nonce: str) -> str:
    return f"page-ack-{project_id}-{iid}-{nonce}"


def payload(project_id: int, project_path: str, iid: int, actor: str = "") -> dict[str, Any]:
    """A minimal Issue Hook body for the incident: what the planner needs to know it is one, and when."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attributes = {"iid": iid, "action": ACTION, "type": "Incident", "updated_at": stamp, "project_id": project_id}
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": {"id": None, "username": actor, "name": "incident-bot paging"},
        "project": {"id": project_id, "path_with_namespace": project_path},
        "object_attributes": attributes,
        "labels": [],
        "changes": {},
    }


def enqueue(queue: EventQueue, body: dict[str, Any], delivery_id: str, signal: str) -> str:
    """Queue one paging delivery (`signal`: `step:<page>:<n>` or `ack:<page>:<person>`); the outcome's name."""
    project_id, iid = int(body["project"]["id"]), int(body["object_attributes"]["iid"])
    meta = {"delivery_id": delivery_id, "event_uuid": None, "event": HOOK, "received_at": time.time()}
    meta["paging"] = signal
    data = json.dumps(body).encode()
    result = queue.enqueue(data, meta, delivery_id=delivery_id, issue_key=f"{project_id}:{iid}", actor="")
    return str(result.outcome)
