"""One frozen, typed view of a GitLab delivery: handlers never read raw payloads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

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


class PayloadError(ValueError):
    """The delivery is JSON but lacks what GitLab always sends; the message says what."""


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
    severity_previous: str | None = None
    severity_changed: bool = False
    note: str | None = None
    note_id: int | None = None
    note_author_id: int | None = None
    delivery_id: str = ""
    event_uuid: str | None = None

    @property
    def issue_key(self) -> str:
        """The key that orders events of one issue: `<project_id>:<iid>`."""
        return f"{self.project_id}:{self.iid}"

    @property
    def is_note(self) -> bool:
        return self.kind is Kind.NOTE


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


def reference(payload: dict[str, Any]) -> Reference:
    """The required fields of an Issue or Note Hook, checked without building the whole Event."""
    attrs = _require(payload, "object_attributes", "")
    if not isinstance(attrs, dict):
        raise PayloadError("field object_attributes must be an object")
    if payload.get("object_kind") == "note":
        issue = _require(payload, "issue", "")
        if not isinstance(issue, dict):
            raise PayloadError("field issue must be an object")
        kind, iid = Kind.NOTE, _int(_require(issue, "iid", "issue"), "issue.iid")
    else:
        kind, iid = Kind.ISSUE, _int(_require(attrs, "iid", "object_attributes"), "object_attributes.iid")
    project_id, _ = _project(payload, attrs)
    return Reference(kind, project_id, iid, _actor(payload).username)


def _label_titles(raw: Any) -> frozenset[str]:
    if not isinstance(raw, list):
        return frozenset()
    titles = set()
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("title"), str):
            titles.add(item["title"])
        elif isinstance(item, str):
            titles.add(item)
    return frozenset(titles)


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] is None:
        raise PayloadError(f"missing field {where}.{key}" if where else f"missing field {key}")
    return mapping[key]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise PayloadError(f"field {name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PayloadError(f"field {name} must be an integer") from None


def _actor(payload: dict[str, Any]) -> Actor:
    user = _require(payload, "user", "")
    if not isinstance(user, dict):
        raise PayloadError("field user must be an object")
    uid = user.get("id")
    return Actor(
        id=uid if isinstance(uid, int) else None,
        username=str(user.get("username") or ""),
        name=str(user.get("name") or ""),
    )


def _project(payload: dict[str, Any], attrs: dict[str, Any]) -> tuple[int, str]:
    project = payload.get("project")
    if isinstance(project, dict) and project.get("id") is not None:
        return _int(project["id"], "project.id"), str(project.get("path_with_namespace") or "")
    for source in (payload, attrs):
        if source.get("project_id") is not None:
            return _int(source["project_id"], "project_id"), ""
    raise PayloadError("missing field project.id")


def is_incident(issue_type: Any, labels: frozenset[str], incident_label: str = INCIDENT_LABEL) -> bool:
    """An incident is of type Incident or carries the incident label."""
    return issue_type == INCIDENT_TYPE or incident_label in labels


def parse_issue(payload: dict[str, Any], incident_label: str = INCIDENT_LABEL) -> Event:
    """Build an Event from an `Issue Hook` body (`object_kind` issue or work_item)."""
    attrs = _require(payload, "object_attributes", "")
    if not isinstance(attrs, dict):
        raise PayloadError("field object_attributes must be an object")
    iid = _int(_require(attrs, "iid", "object_attributes"), "object_attributes.iid")
    project_id, project_path = _project(payload, attrs)
    labels = _label_titles(payload.get("labels", attrs.get("labels")))
    raw_changes = payload.get("changes")
    changes: dict[str, Any] = raw_changes if isinstance(raw_changes, dict) else {}
    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    label_change = changes.get("labels")
    if isinstance(label_change, dict):
        before = _label_titles(label_change.get("previous"))
        after = _label_titles(label_change.get("current"))
        added, removed = after - before, before - after
    elif attrs.get("action") == "open":
        added = labels
    severity_change = changes.get("severity")
    assignees = tuple(
        str(a.get("username")) for a in payload.get("assignees") or [] if isinstance(a, dict) and a.get("username")
    )
    return Event(
        kind=Kind.ISSUE,
        action=str(attrs.get("action") or "update"),
        project_id=project_id,
        project_path=project_path,
        iid=iid,
        actor=_actor(payload),
        is_incident=is_incident(attrs.get("type"), labels, incident_label),
        title=str(attrs.get("title") or ""),
        description=str(attrs.get("description") or ""),
        url=str(attrs.get("url") or ""),
        state=str(attrs.get("state") or "opened"),
        confidential=bool(attrs.get("confidential")),
        labels=labels,
        labels_added=added,
        labels_removed=removed,
        assignees=assignees,
        severity=attrs.get("severity") if isinstance(attrs.get("severity"), str) else None,
        severity_previous=severity_change.get("previous") if isinstance(severity_change, dict) else None,
        severity_changed=isinstance(severity_change, dict),
    )


def parse_note(payload: dict[str, Any], incident_label: str = INCIDENT_LABEL) -> Event:
    """Build an Event from a `Note Hook` body on an issue; other noteables raise PayloadError."""
    attrs = _require(payload, "object_attributes", "")
    if not isinstance(attrs, dict):
        raise PayloadError("field object_attributes must be an object")
    issue = _require(payload, "issue", "")
    if not isinstance(issue, dict):
        raise PayloadError("field issue must be an object")
    iid = _int(_require(issue, "iid", "issue"), "issue.iid")
    project_id, project_path = _project(payload, attrs)
    labels = _label_titles(issue.get("labels"))
    return Event(
        kind=Kind.NOTE,
        action=str(attrs.get("action") or "create"),
        project_id=project_id,
        project_path=project_path,
        iid=iid,
        actor=_actor(payload),
        is_incident=is_incident(issue.get("type"), labels, incident_label),
        title=str(issue.get("title") or ""),
        description=str(issue.get("description") or ""),
        url=str(issue.get("url") or attrs.get("url") or "").split("#", 1)[0],
        state=str(issue.get("state") or "opened"),
        confidential=bool(issue.get("confidential")) or bool(attrs.get("internal")),
        labels=labels,
        severity=issue.get("severity") if isinstance(issue.get("severity"), str) else None,
        note=str(attrs.get("note") or ""),
        note_id=attrs.get("id") if isinstance(attrs.get("id"), int) else None,
        note_author_id=attrs.get("author_id") if isinstance(attrs.get("author_id"), int) else None,
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
    return _with_delivery(event, delivery_id, event_uuid)


def _with_delivery(event: Event, delivery_id: str, event_uuid: str | None) -> Event:
    return replace(event, delivery_id=delivery_id, event_uuid=event_uuid)
