"""Which GitLab payloads the edge admits: pure predicates read straight from a parsed body (no Event is built).

`web.edge.classify` asks them; each says why a delivery that is no incident may still concern the bot.
"""

from __future__ import annotations

import re
from typing import Any

from ..events import is_incident, issue_type_of

# A comment asking any bot for a drill or a follow-up (`@name drill ...`, `@name follow-up ...` starting a line):
# admitted on any issue (a follow-up is asked in a review), and the worker checks that `name` is the bot. Blanks
# are [ \t] only, so no match attempt runs past its line.
DRILL_REQUEST = re.compile(r"^[ \t]*@[\w.-]+[:,]?[ \t]+(?:drill|follow-up)\b", re.IGNORECASE | re.MULTILINE)


def may_be_incident(payload: dict[str, Any], kind: str, incident_label: str) -> bool:
    """What `events.is_incident` decides, read straight from the payload (the edge builds no Event).

    Also an Issue Hook that just removed the incident label: the worker plans nothing for it, and the index forgets it.
    """
    issue = payload.get("issue") if kind == "note" else payload.get("object_attributes")
    if not isinstance(issue, dict):
        return True  # malformed: let the parser name what is missing
    labels = (issue.get("labels") if kind == "note" else payload.get("labels", issue.get("labels"))) or []
    if not isinstance(labels, list):
        return True
    return is_incident(issue_type_of(issue), labels, incident_label) or (
        kind != "note" and _removed_label(payload, incident_label)
    )


def _names(labels: Any, name: str) -> bool:
    """Whether a list of labels (objects with a title, or plain names) holds `name`."""
    if not isinstance(labels, list):
        return False
    return any((label.get("title") if isinstance(label, dict) else label) == name for label in labels)


def _removed_label(payload: dict[str, Any], incident_label: str) -> bool:
    """An Issue Hook whose labels held the incident label before this change: the index must forget the issue."""
    changes = payload.get("changes")
    change = changes.get("labels") if isinstance(changes, dict) else None
    return isinstance(change, dict) and _names(change.get("previous"), incident_label)


def follow_up_issue(payload: dict[str, Any], kind: str, label: str) -> bool:
    """An Issue Hook of a follow-up's issue: it carries the follow-up label now, or did before this change."""
    if kind == "note":
        return False
    attributes = payload.get("object_attributes")
    labels = payload.get("labels", attributes.get("labels") if isinstance(attributes, dict) else None)
    changes = payload.get("changes")
    change = changes.get("labels") if isinstance(changes, dict) else None
    return _names(labels, label) or (isinstance(change, dict) and _names(change.get("previous"), label))


def drill_request(payload: dict[str, Any], kind: str) -> bool:
    """A comment on an issue that is no incident may still ask for a drill (`@bot drill <scenario>`)."""
    attributes = payload.get("object_attributes")
    note = attributes.get("note") if kind == "note" and isinstance(attributes, dict) else None
    return isinstance(note, str) and DRILL_REQUEST.search(note) is not None


def too_deep(payload: Any, limit: int) -> bool:
    """True if containers nest deeper than `limit`; iterative, so any depth json.loads built is safe to walk."""
    todo: list[tuple[Any, int]] = [(payload, 1)]
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
