"""Reconcile's comments: commands addressed to the bot whose delivery never arrived.

A comment `@incident-bot update ...` answered 503, or made while the hook was disabled or the bot was
down, is never applied: GitLab does not redeliver. The bot's memory records the comments it handled
(`notes`, see `service.incident`); every comment newer than the last of them that addresses the bot
with a command is queued as the Note Hook GitLab would have sent, under a delivery id fixed by the
comment (`reconcile-note-<project>-<iid>-<note id>`), oldest first and behind the issue's state repair.
The worker skips a comment its memory already records, so GitLab's own delivery racing this one, a
second pass or a second worker applies it once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..events import PayloadError, parse_event

log = logging.getLogger("incident_bot.ops")

SOURCE = "reconcile-note"


def note_delivery_id(project_id: int, iid: int, note_id: int) -> str:
    """Deterministic per comment: every pass and every worker names the same replay the same way."""
    return f"{SOURCE}-{project_id}-{iid}-{note_id}"


def note_payload(issue_attributes: dict[str, Any], project_path: str, note: dict[str, Any]) -> dict[str, Any]:
    """The Note Hook body GitLab would have sent for `note` (as GitLab lists it) on the issue described."""
    author: dict[str, Any] = note["author"] if isinstance(note.get("author"), dict) else {}
    issue = {k: v for k, v in issue_attributes.items() if k != "action"}
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": {"id": author.get("id"), "username": author.get("username") or "", "name": author.get("name") or ""},
        "project": {"id": issue["project_id"], "path_with_namespace": project_path},
        "object_attributes": {
            "id": note.get("id"),
            "note": str(note.get("body") or ""),
            "noteable_type": "Issue",
            "action": "create",
            "internal": bool(note.get("internal") or note.get("confidential")),
            "system": False,
            "created_at": note.get("created_at"),
            "url": f"{issue.get('url') or ''}#note_{note.get('id')}",
        },
        "issue": issue,
    }


def unhandled_commands(
    notes: Iterable[dict[str, Any]],
    after: int,
    issue_attributes: dict[str, Any],
    project_path: str,
    bot: str,
    incident_label: str,
) -> list[tuple[dict[str, Any], str]]:
    """(Note Hook body, command) for each comment newer than `after` that commands the bot, oldest first.

    `notes` come newest first (as GitLab lists them): reading stops at the first one already handled.
    Whether a comment is a command is decided exactly as the worker decides it (`Event.command`).
    """
    found = []
    for note in notes:
        note_id = note.get("id")
        if type(note_id) is not int:
            continue
        if note_id <= after:
            break
        author: dict[str, Any] = note["author"] if isinstance(note.get("author"), dict) else {}
        if note.get("system") or author.get("username") == bot:
            continue
        body = note_payload(issue_attributes, project_path, note)
        try:
            command = parse_event(body, incident_label=incident_label).command(bot)
        except PayloadError as exc:
            log.warning("reconcile: comment %s of %s not replayed: %s", note_id, project_path, exc)
            continue
        if command is not None:
            found.append((body, command[0]))
    return found[::-1]
