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

from .text import is_username

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


SHAPE_KEYS = 40  # keys described per object: enough to see what GitLab sent, bounded for a log line


class UnexpectedAnswer(ValueError):
    """A GitLab answer the bot cannot read (a field missing or of another type): asking again gets the same answer.

    Its message names the field and the answer's shape (keys and types, never a value: titles may be confidential).
    """

    def __init__(self, what: str, problem: str, data: Any):
        self.shape = shape(data)
        super().__init__(f"unexpected GitLab answer for {what}: {problem}; its shape: {self.shape}")


def shape(value: Any, depth: int = 3) -> str:
    """What a JSON value looks like, without any of its values: `{'iid': int, 'labels': [str]}`."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        if depth <= 0:
            return "{...}"
        items = [f"{str(k)[:40]!r}: {shape(v, depth - 1)}" for k, v in list(value.items())[:SHAPE_KEYS]]
        more = ", ..." if len(value) > SHAPE_KEYS else ""
        return "{" + ", ".join(items) + more + "}"
    if isinstance(value, list):
        return "[]" if not value else f"[{shape(value[0], depth - 1)}]" if depth > 0 else "[...]"
    return type(value).__name__


def _required(data: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(data, dict):
        raise UnexpectedAnswer(what, f"an object expected, got {type(data).__name__}", data)
    if key not in data:
        raise UnexpectedAnswer(what, f"`{key}` missing", data)
    if not isinstance(data[key], kind) or isinstance(data[key], bool):
        raise UnexpectedAnswer(what, f"`{key}` is {type(data[key]).__name__}", data)
    return data[key]


def issue_from_api(project_id: int, data: dict[str, Any]) -> Issue:
    """The issue as GitLab's REST answer describes it (GET /projects/:id/issues/:iid); UnexpectedAnswer if unreadable.

    `iid` and `labels` are required: an issue read without its labels would look like one that lost them all.
    """
    what = f"issue {project_id}"
    iid = _required(data, "iid", int, what)
    labels = _required(data, "labels", list, what)
    try:
        assignees = [a for a in data.get("assignees") or [] if isinstance(a, dict)]
        author: dict[str, Any] = data["author"] if isinstance(data.get("author"), dict) else {}
        name, ident = author.get("username"), author.get("id")  # the author, where GitLab's answer names one
        return Issue(
            project_id=project_id,
            iid=iid,
            title=str(data.get("title") or ""),
            description=str(data.get("description") or ""),
            state=str(data.get("state") or "opened"),
            labels=frozenset(str(label) for label in labels),
            assignees=tuple(str(a.get("username")) for a in assignees),
            assignee_ids=tuple(int(a["id"]) for a in assignees if a.get("id") is not None),
            confidential=bool(data.get("confidential")),
            web_url=str(data.get("web_url") or ""),
            issue_type=str(data.get("issue_type") or data.get("type") or "issue"),
            severity=data.get("severity") if isinstance(data.get("severity"), str) else None,
            author=name if isinstance(name, str) and is_username(name) else "",
            author_id=ident if type(ident) is int and ident > 0 else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer(what, type(exc).__name__, data) from None


def note_from_api(item: dict[str, Any]) -> Note:
    """A note as GitLab's REST answer describes it; UnexpectedAnswer if unreadable."""
    ident = _required(item, "id", int, "a note")
    try:
        return Note(
            id=ident,
            body=str(item.get("body") or ""),
            author=str((item.get("author") or {}).get("username") or ""),
            created_at=str(item.get("created_at") or ""),
            system=bool(item.get("system")),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedAnswer("a note", type(exc).__name__, item) from None


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
