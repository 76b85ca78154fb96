"""The Delivery: one context per job, built once and handed to the planner, executor, follow-ups and reminders.

It holds what describes this delivery rather than the incident or the process: the
event, a GitLab client bound to the delivery's `X-Gitlab-Event-UUID` (a new object,
never the shared client changed), the bound logger, the rules as of this job, the
clock, the bot's username, the author's access level and whether this is a dry run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain

from redis import Redis

from .. import logs
from ..events import Event
from ..gitlab import GitLabClient
from ..gitlab.together import together
from ..incident import IncidentState, Issue, Note, checklist_notes, find_memory, memory_in, resolve_checklists
from ..keys import Keys
from ..rules import RuleSet


@dataclass(frozen=True)
class Delivery:
    """Everything one job knows about the delivery it handles."""

    event: Event
    client: GitLabClient | None  # None in a dry run: nothing may reach GitLab
    log: logs.Bound
    rules: RuleSet
    clock: Callable[[], datetime]
    bot_username: str
    actor_access: int | None = None  # read only when the author addresses the bot
    dry_run: bool = False
    redis: Redis | None = None  # the worker's Redis, for a job's small caches (follow-up list note ids)
    keys: Keys = Keys()
    alertmanager_url: str = ""  # INCIDENT_BOT_ALERTMANAGER_URL: where `silence` makes its silences

    @property
    def gitlab(self) -> GitLabClient:
        """The bound client; a dry run has none."""
        if self.client is None:
            raise RuntimeError("a dry run has no GitLab client")
        return self.client

    def load_state(self) -> IncidentState:
        """What the incident is now, from GitLab: the issue, the bot's memory and the checklist notes it names.

        The memory note is read by the id Redis remembers, so a delivery costs the same
        however many comments the issue has; every page of notes is read only when that
        pointer is missing or stale (Redis flushed, note deleted, or not the bot's).
        """
        return self.load_state_and_bot(None)[0]

    def load_state_and_bot(self, ask: Callable[[], str] | None) -> tuple[IncidentState, str]:
        """The state (as `load_state`) and the bot's username: `ask`ed of GitLab in the same round trip as the
        issue and the notes (an hour's first delivery), else this delivery's `bot_username`."""
        client, pid, iid = self.gitlab, self.event.project_id, self.event.iid
        calls: list[Callable[[], object]] = []
        bot: Callable[[], str] = lambda: self.bot_username  # noqa: E731 - the name, as the asked one is read
        if ask is not None:
            asked: Future[str] = Future()

            def user() -> None:
                try:
                    asked.set_result(ask())
                except BaseException as exc:  # noqa: BLE001 - the memory's reader raises it too, then together
                    asked.set_exception(exc)
                    raise

            calls, bot = [user], asked.result
        # The issue is read while the notes are (and the bot's user, when asked): one round trip for all.
        state, issue, *_ = together(
            lambda: self._memory_state(client, bot, pid, iid), lambda: client.get_issue(pid, iid), *calls
        )
        return replace(state, issue=issue), bot()

    def _memory_state(self, client: GitLabClient, name: Callable[[], str], pid: int, iid: int) -> IncidentState:
        """The bot's memory and the current phase's checklist note (the issue itself is filled in by the caller).

        The first read (the remembered note, else the first page of notes) is sent before the bot's `name` is
        waited for: its own round trip may still be under way."""
        pointer = client.memory_note(pid, iid)
        note = client.get_note(pid, iid, pointer) if pointer is not None else None
        pages = _begun(client.iter_notes(pid, iid)) if pointer is None else None
        bot = name()
        memory = memory_in(note, bot)
        notes: list[Note] = []
        if memory is None:
            memory, note = find_memory(pages if pages is not None else client.iter_notes(pid, iid), bot)
            if memory.get("declared") and "checklists" not in memory:
                # Memory from before checklist note ids were kept in it: find them; the next note written keeps them
                # (until then no pointer is set, so they are looked for again rather than forgotten).
                memory = {**memory, "checklists": checklist_notes(client.iter_notes(pid, iid), bot)}
            elif note is not None:
                client.remember_memory_note(pid, iid, note.id)
        memory = resolve_checklists(memory, note.id if note else None)
        checklists = memory.get("checklists")
        wanted = checklists.get(memory.get("phase") or "") if isinstance(checklists, dict) else None
        if isinstance(wanted, int) and note is not None and wanted == note.id:
            notes.append(note)
        elif isinstance(wanted, int):
            found = client.get_note(pid, iid, wanted)
            if found is not None and found.author == bot:
                notes.append(found)
        return IncidentState(
            issue=Issue(pid, iid),
            memory=memory,
            memory_note_id=note.id if note else None,
            memory_note_body=note.body if note else "",
            notes=tuple(notes),
        )


def _begun(items: Iterator[Note]) -> Iterator[Note]:
    """The same notes, their first page read now."""
    first = next(items, None)
    return chain([first], items) if first is not None else iter(())
