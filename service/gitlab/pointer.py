"""Where the bot's memory of an issue was last written: a note id kept in Redis, so a delivery reads one note."""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

from ..keys import Keys

log = logging.getLogger("incident_bot.gitlab")
MEMORY_POINTER_SECONDS = 90 * 24 * 3600  # longer than any incident stays open; a lost pointer costs one full scan


class MemoryPointer:
    """The memory note's id per issue, in Redis (shared by every worker process, surviving restarts)."""

    cache: Redis | None
    keys: Keys

    def memory_note(self, project_id: int, iid: int) -> int | None:
        """Where the bot's memory of this issue was last written, if Redis remembers it."""
        try:
            raw = self.cache.get(self.keys.memory_note(project_id, iid)) if self.cache is not None else None
            return int(raw) if raw is not None else None
        except (RedisError, ValueError) as exc:
            # No pointer is always safe: the memory is then found by reading every note.
            log.warning("memory pointer of %s#%s unreadable, reading all notes: %s", project_id, iid, exc)
            return None

    def remember_memory_note(self, project_id: int, iid: int, note_id: int | None) -> None:
        """Point at the note holding the memory; None forgets the pointer (a note is about to supersede it)."""
        if self.cache is None:
            return
        if note_id is None:
            # Must succeed (it raises): a pointer left on an older memory note would make that memory current.
            self.cache.delete(self.keys.memory_note(project_id, iid))
            return
        try:
            self.cache.set(self.keys.memory_note(project_id, iid), note_id, ex=MEMORY_POINTER_SECONDS)
        except RedisError as exc:
            log.warning("memory pointer of %s#%s not saved (next delivery reads all notes): %s", project_id, iid, exc)
