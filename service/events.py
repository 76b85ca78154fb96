"""One frozen, typed view of a GitLab delivery: handlers never read raw payloads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from .fields import (
    PayloadError,
    as_id,
    checked_text,
    checked_times,
    label_titles,
    optional_id,
    require,
    str_or_none,
    text_field,
)

INCIDENT_LABEL = "incident"
INCIDENT_TYPE = "Incident"

# GitLab's header names for the hooks this bot takes.
ISSUE_HOOKS = frozenset({"Issue Hook", "Confidential Issue Hook"})
NOTE_HOOKS = frozenset({"Note Hook", "Confidential Note Hook"})
ACCEPTED_HOOKS = ISSUE_HOOKS | NOTE_HOOKS


class Kind(StrEnum):
    """What the delivery is about."""

    ISSUE = "issue"
    NOTE = "note"


@dataclass(frozen=True)
class Actor:
    """The GitLab user who caused the event."""

    id: int | None
    username: str
    name: str = ""


@dataclass(frozen=True)
class Event:
    """What one delivery says happened to one issue."""

    kind: Kind
    action: str
    project_id: int
    project_path: str
    iid: int
    actor: Actor
    is_incident: bool
    title: str = ""
    description: str = ""
    url: str = ""
    state: str = "opened"
    confidential: bool = False
    labels: frozenset[str] = frozenset()
    labels_added: frozenset[str] = frozenset()
    labels_removed: frozenset[str] = frozenset()
    assignees: tuple[str, ...] = ()
    severity: str | None = None
    severity_changed: bool = False
    note: str | None = None
    note_id: int | None = None  # the comment's id: one comment is applied once, whichever delivery brings it
    delivery_id: str = ""
    event_uuid: str | None = None
    paging: str = ""  # a paging step or acknowledgement the bot queued itself (`step:<page>:<n>`, `ack:<page>:<user>`)

    @property
    def issue_key(self) -> str:
        """The key that orders events of one issue: `<project_id>:<iid>`."""
        return f"{self.project_id}:{self.iid}"

    @property
    def is_note(self) -> bool:
        return self.kind is Kind.NOTE

    def command(self, bot: str) -> tuple[str, str] | None:
        """A new comment's first line addressed to `@bot`, as (command, rest); None when there is none.

        Read here, with the event, because the job asks it before planning: an author who
        addresses the bot needs their access level read from GitLab.
        """
        if not self.is_note or self.action != "create" or not self.note:
            return None
        pattern = re.compile(rf"^\s*@{re.escape(bot)}\b[:,]?\s*(?P<cmd>[\w-]*)\s*(?P<rest>.*)$", re.IGNORECASE)
        for line in self.note.splitlines():
            match = pattern.match(line)
            if match:
                return match.group("cmd").lower(), match.group("rest").strip()
        return None


@dataclass(frozen=True)
class Reference:
    """Which issue a delivery concerns and who caused it: all the edge needs to queue it."""

    kind: Kind
    project_id: int
    iid: int
    actor: str

    @property
    def issue_key(self) -> str:
        return f"{self.project_id}:{self.iid}"

    @classmethod
    def of(cls, event: Event) -> Reference:
        """The reference of a parsed event."""
        return cls(event.kind, event.project_id, event.iid, event.actor.username)


def reference(payload: dict[str, Any]) -> Reference:
    """Which issue a delivery concerns, by the worker's own parse (so the edge accepts only what it can parse)."""
    return Reference.of(parse_event(payload))


def _actor(payload: dict[str, Any]) -> Actor:
    user = require(payload, "user", "")
    if not isinstance(user, dict):
        raise PayloadError("field user must be an object")
    return Actor(
        id=optional_id(user.get("id")),
        username=text_field(user, "username", "user.username"),
        name=text_field(user, "name", "user.name"),
    )


def _project(payload: dict[str, Any], attrs: dict[str, Any]) -> tuple[int, str]:
    project = payload.get("project")
    if isinstance(project, dict) and project.get("id") is not None:
        return as_id(project["id"], "project.id"), text_field(
            project, "path_with_namespace", "project.path_with_namespace"
        )
    for source in (payload, attrs):
        if source.get("project_id") is not None:
            return as_id(source["project_id"], "project_id"), ""
    raise PayloadError("missing field project.id")


def _assignees(payload: dict[str, Any]) -> tuple[str, ...]:
    raw = payload.get("assignees")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PayloadError("field assignees must be a list")
    names = (a.get("username") for a in raw if isinstance(a, dict))
    return tuple(checked_text(n, "assignees.username") for n in names if isinstance(n, str) and n)


def is_incident(issue_type: Any, labels: Iterable[Any], incident_label: str = INCIDENT_LABEL) -> bool:
    """An incident is of type Incident or carries the incident label: the one predicate, wherever the issue came from.

    The type is compared without case, since GitLab spells it three ways: `type: "Incident"` in Issue Hooks (object_kind
    issue or work_item), `issue_type: "incident"` in the REST API, `INCIDENT` in GraphQL and REST `type`. A label is
    matched exactly, as GitLab matches it (`Incident` is another label); `labels` holds names or hook label objects.
    """
    if str(issue_type or "").lower() == INCIDENT_TYPE.lower():
        return True
    return any((label.get("title") if isinstance(label, dict) else label) == incident_label for label in labels)


def issue_type_of(issue: Mapping[str, Any]) -> Any:
    """The issue's type as the source spells it: REST `issue_type`, else the hook's (or GraphQL's) `type`."""
    return issue.get("issue_type") or issue.get("type")


def _object_attributes(payload: dict[str, Any]) -> dict[str, Any]:
    attrs = require(payload, "object_attributes", "")
    if not isinstance(attrs, dict):
        raise PayloadError("field object_attributes must be an object")
    return attrs


def _issue_fields(
    payload: dict[str, Any], issue: dict[str, Any], where: str, labels: frozenset[str], incident_label: str
) -> dict[str, Any]:
    """What both hooks say alike about the issue and who acted (`issue` is the object at `where`)."""
    checked_times(issue, where)
    return {
        "actor": _actor(payload),
        "is_incident": is_incident(issue_type_of(issue), labels, incident_label),
        "title": text_field(issue, "title", f"{where}.title"),
        "description": text_field(issue, "description", f"{where}.description"),
        "state": text_field(issue, "state", f"{where}.state", "opened"),
        "labels": labels,
        "severity": str_or_none(issue.get("severity"), f"{where}.severity"),
    }


def parse_issue(payload: dict[str, Any], incident_label: str = INCIDENT_LABEL) -> Event:
    """Build an Event from an `Issue Hook` body (`object_kind` issue or work_item)."""
    attrs = _object_attributes(payload)
    iid = as_id(require(attrs, "iid", "object_attributes"), "object_attributes.iid")
    project_id, project_path = _project(payload, attrs)
    labels = label_titles(payload.get("labels", attrs.get("labels")), "labels.title")
    raw_changes = payload.get("changes")
    changes: dict[str, Any] = raw_changes if isinstance(raw_changes, dict) else {}
    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    label_change = changes.get("labels")
    action = text_field(attrs, "action", "object_attributes.action", "update")
    if isinstance(label_change, dict):
        before = label_titles(label_change.get("previous"), "changes.labels.previous.title")
        after = label_titles(label_change.get("current"), "changes.labels.current.title")
        added, removed = after - before, before - after
    elif action == "open":
        added = labels
    severity_change = changes.get("severity")
    if isinstance(severity_change, dict):
        # Not kept (nothing reads it), still checked: hostile input stays a 400 exactly as before.
        str_or_none(severity_change.get("previous"), "changes.severity.previous")
    return Event(
        kind=Kind.ISSUE,
        action=action,
        project_id=project_id,
        project_path=project_path,
        iid=iid,
        **_issue_fields(payload, attrs, "object_attributes", labels, incident_label),
        url=text_field(attrs, "url", "object_attributes.url"),
        confidential=bool(attrs.get("confidential")),
        labels_added=added,
        labels_removed=removed,
        assignees=_assignees(payload),
        severity_changed=isinstance(severity_change, dict),
    )


def parse_note(payload: dict[str, Any], incident_label: str = INCIDENT_LABEL) -> Event:
    """Build an Event from a `Note Hook` body on an issue; other noteables raise PayloadError."""
    attrs = _object_attributes(payload)
    issue = require(payload, "issue", "")
    if not isinstance(issue, dict):
        raise PayloadError("field issue must be an object")
    iid = as_id(require(issue, "iid", "issue"), "issue.iid")
    project_id, project_path = _project(payload, attrs)
    labels = label_titles(issue.get("labels"), "issue.labels.title")
    checked_times(attrs, "object_attributes")  # the comment's own times
    url = text_field(issue, "url", "issue.url") or text_field(attrs, "url", "object_attributes.url")
    return Event(
        kind=Kind.NOTE,
        action=text_field(attrs, "action", "object_attributes.action", "create"),
        project_id=project_id,
        project_path=project_path,
        iid=iid,
        **_issue_fields(payload, issue, "issue", labels, incident_label),
        url=url.split("#", 1)[0],
        confidential=bool(issue.get("confidential")) or bool(attrs.get("internal")),
        note=text_field(attrs, "note", "object_attributes.note"),
        note_id=optional_id(attrs.get("id")),
    )


def noteable_type(payload: dict[str, Any]) -> str | None:
    """The kind of thing a Note Hook comments on (Issue, MergeRequest, Commit, Snippet)."""
    attrs = payload.get("object_attributes")
    return attrs.get("noteable_type") if isinstance(attrs, dict) else None


def parse_event(
    payload: Any,
    *,
    delivery_id: str = "",
    event_uuid: str | None = None,
    incident_label: str = INCIDENT_LABEL,
) -> Event:
    """Parse an Issue or Note Hook body; raise PayloadError when required fields are missing."""
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    kind = payload.get("object_kind")
    if kind in ("issue", "work_item"):
        event = parse_issue(payload, incident_label)
    elif kind == "note":
        event = parse_note(payload, incident_label)
    else:
        raise PayloadError(f"unsupported object_kind {kind!r}")
    if not delivery_id and event_uuid is None:
        return event  # the edge's check: copying a frozen 25-field Event costs as much as building it
    return _with_delivery(event, delivery_id, event_uuid)


def _with_delivery(event: Event, delivery_id: str, event_uuid: str | None) -> Event:
    return replace(event, delivery_id=delivery_id, event_uuid=event_uuid)
