"""Issues whose index write failed, waiting to be reindexed from GitLab: a Redis set of `project_id:iid`.

A delivery is applied in GitLab before the index hears of it, and the index is derived: a write that
fails (the database unreachable, its file unwritable, the migration not done yet) is not a reason to
fail the delivery, but it is never dropped silently either. The worker records the issue here; the
next successful index write and the worker's maintenance pass reindex it from GitLab (`reindex_issue`)
and take it off. `incident-bot doctor` and `/metrics` show how many wait.
"""

from __future__ import annotations

from redis import Redis

from ..keys import Keys


def _key(queue: str) -> str:
    """Per deployment (its queue's namespace): each catches up its own index."""
    return Keys.of_queue(queue).index_pending


def add(connection: Redis, queue: str, project_id: int, iid: int) -> None:
    """Record that this issue's index rows are behind GitLab."""
    connection.sadd(_key(queue), f"{project_id}:{iid}")


def count(connection: Redis, queue: str) -> int:
    """How many issues wait for a catch-up."""
    return int(connection.scard(_key(queue)))


def some(connection: Redis, queue: str, limit: int) -> list[tuple[int, int]]:
    """Up to `limit` waiting issues as (project_id, iid)."""
    key = _key(queue)
    found = connection.srandmember(key, limit) or []
    out = []
    for raw in found:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        project_id, _, iid = text.partition(":")
        if project_id.isdigit() and iid.isdigit():
            out.append((int(project_id), int(iid)))
        else:
            connection.srem(key, raw)  # not ours to read: never retried for ever
    return out


def done(connection: Redis, queue: str, project_id: int, iid: int) -> None:
    """The issue was reindexed: off the list."""
    connection.srem(_key(queue), f"{project_id}:{iid}")
