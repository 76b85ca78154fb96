"""What an incident is now, read from GitLab, and the bot's memory kept in its own notes.

GitLab is the source of truth. The bot's memory (what it has announced, staffed
and posted) is a small JSON record in a hidden HTML comment at the end of its
latest note, so a flushed Redis loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .events import Event

MARKER = "incident-bot:memory"
CHECKLIST_PREFIX = "<!-- incident-bot:checklist"
_MARKER_RE = re.compile(r"<!-- incident-bot:memory (?P<json>\{.*?\}) -->", re.DOTALL)
_CHECKLIST_RE = re.compile(r"<!-- incident-bot:checklist (\S+) -->")
MAX_DELIVERIES = 100  # remembered delivery ids: enough to recognise any realistic redelivery
MAX_NOTES = 100  # remembered comments: one delivered by GitLab and replayed by reconcile is applied once


@dataclass(frozen=True)
class Note:
    """A comment on the issue."""

    id: int
    body: str
    author: str
    created_at: str = ""
    system: bool = False


@dataclass(frozen=True)
class Issue:
    """The issue as GitLab reports it now."""

    project_id: int
    iid: int
    title: str = ""
    description: str = ""
    state: str = "opened"
    labels: frozenset[str] = frozenset()
    assignees: tuple[str, ...] = ()
    assignee_ids: tuple[int, ...] = ()
    confidential: bool = False
    web_url: str = ""
    issue_type: str = "issue"
    severity: str | None = None
    author: str = ""  # the author's username, when GitLab's answer names one (a hook names only the actor)
    author_id: int | None = None


@dataclass(frozen=True)
class IncidentState:
    """The issue plus the bot's memory of it."""

    issue: Issue
    memory: dict[str, Any] = field(default_factory=dict)
    memory_note_id: int | None = None
    memory_note_body: str = ""
    notes: tuple[Note, ...] = ()  # the bot's checklist note of the current phase, when it has one

    @property
    def labels(self) -> frozenset[str]:
        return self.issue.labels

    def remembers(self, delivery_id: str, comment: str | None = None) -> bool:
        """True when this delivery, or another delivery of the same new comment (`new_comment`), was applied."""
        if comment is not None and comment in (self.memory.get("notes") or ()):
            return True
        return bool(delivery_id) and delivery_id in self.memory.get("deliveries", [])


def new_comment(event: Event) -> str | None:
    """The new comment a delivery brings (GitLab's own or reconcile's replay), as `<note id>:<digest of its text>`.

    The text is part of it so that two different comments are never taken for one; reconcile replays
    the text GitLab has, which is the text GitLab delivered.
    """
    if not event.is_note or event.action != "create" or event.note_id is None:
        return None
    return f"{event.note_id}:{hashlib.sha256((event.note or '').encode()).hexdigest()[:8]}"


def last_handled_note(memory: dict[str, Any], memory_note_id: int | None) -> int:
    """Comments up to this id were handled; memory from before comments were recorded: those before its note."""
    notes = memory.get("notes")
    if not isinstance(notes, list):
        return memory_note_id or 0
    ids = (str(n).split(":", 1)[0] for n in notes)
    return max((int(i) for i in ids if i.isdigit()), default=0)


def state_from_event(event: Event) -> IncidentState:
    """The delivery's own view of the issue, standing in for GitLab (dry-run, simulate)."""
    issue = Issue(
        project_id=event.project_id,
        iid=event.iid,
        title=event.title,
        description=event.description,
        state=event.state,
        labels=event.labels,
        assignees=event.assignees,
        confidential=event.confidential,
        web_url=event.url,
        issue_type="incident" if event.is_incident else "issue",
        severity=event.severity,
    )
    return IncidentState(issue=issue)


def read_memory(body: str) -> dict[str, Any] | None:
    """The memory record in a note body, or None."""
    match = _MARKER_RE.search(body)
    if not match:
        return None
    try:
        value = json.loads(match.group("json"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def strip_memory(body: str) -> str:
    """The note body without its memory marker."""
    return _MARKER_RE.sub("", body).rstrip()


def write_memory(body: str, memory: dict[str, Any]) -> str:
    """The note body with its memory marker replaced by `memory`."""
    encoded = json.dumps(memory, separators=(",", ":"), sort_keys=True)
    # "-->" cannot occur in JSON output except inside strings; escape it so the comment stays closed.
    encoded = encoded.replace("-->", "--\\u003e")
    return f"{strip_memory(body)}\n\n<!-- {MARKER} {encoded} -->"


def memory_in(note: Note | None, bot_username: str) -> dict[str, Any] | None:
    """The memory record of a note, only when the bot wrote that note (a user can type the marker too)."""
    if note is None or note.author != bot_username:
        return None
    return read_memory(note.body)


def find_memory(notes: Iterable[Note], bot_username: str) -> tuple[dict[str, Any], Note | None]:
    """The newest memory record in the bot's own notes (notes given newest first; stops reading at it)."""
    for note in notes:
        memory = memory_in(note, bot_username)
        if memory is not None:
            return memory, note
    return {}, None


def checklist_notes(notes: Iterable[Note], bot_username: str) -> dict[str, int]:
    """Phase -> id of the bot's newest note holding that phase's checklist (notes given newest first)."""
    found: dict[str, int] = {}
    for note in notes:
        if note.author == bot_username:
            for phase in _CHECKLIST_RE.findall(note.body):
                found.setdefault(phase, note.id)
    return found


def resolve_checklists(memory: dict[str, Any], note_id: int | None) -> dict[str, Any]:
    """Memory whose checklist note ids are all known.

    A checklist is posted in the same note that carries the memory, whose id GitLab
    gives only once the note exists: the memory says `null` there, meaning "this note".
    """
    checklists = memory.get("checklists")
    if not isinstance(checklists, dict) or note_id is None:
        return memory
    return {**memory, "checklists": {k: note_id if v is None else v for k, v in checklists.items()}}


def with_delivery(
    memory: dict[str, Any], delivery_id: str, comment: str | None = None, memory_note_id: int | None = None
) -> dict[str, Any]:
    """A copy of memory that records one more applied delivery and the new comment it brought (both bounded).

    Memory from before comments were recorded starts the record at its own note (`memory_note_id`), so
    reconcile never replays a comment older than the bot's last note from that time.
    """
    updated = dict(memory)
    seen = [d for d in memory.get("deliveries", []) if d != delivery_id]
    if delivery_id:
        seen.append(delivery_id)
    updated["deliveries"] = seen[-MAX_DELIVERIES:]
    notes = memory.get("notes")
    if not isinstance(notes, list):
        notes = [f"{memory_note_id}:"] if memory_note_id is not None else []
    if comment is not None and comment not in notes:
        notes = [*notes, comment]
    updated["notes"] = notes[-MAX_NOTES:]
    return updated
