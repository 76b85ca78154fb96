"""Recoverable dequeue: a job taken from a queue is always somewhere Redis can find it again.

RQ 3 moves a job into an intermediate list only when a worker listens to one queue; with
two queues it BLPOPs, and a job popped just before a stop or a kill is in no list and no
registry, with its issue's later events deferred behind it for ever. RQ's own
intermediate-queue cleanup fails such a job instead of running it.

Here every worker moves a job (LMOVE/BLMOVE, atomically) into its own claims list
`incident-bot:claims:<worker>`, and turns the claim into a started execution in one
transaction that also removes the claim. So a job is always in exactly one place: a
queue, a worker's claims, or RQ's started registry (which RQ itself recovers when the
worker stops heartbeating). Claims go back to the front of their queue:

- on the worker's next dequeue, when a start was interrupted (Redis went away);
- when the worker stops (warm shutdown);
- by any worker's maintenance, once the claiming worker stopped heartbeating (SIGKILL, lost machine).

A claim that goes back while its worker still lives (its key expired during a long Redis
outage or a long stall) cannot run twice: starting a job checks, under WATCH, that the claim is still there.
"""

from __future__ import annotations

import logging

from redis import Redis

from ..rqstore import JOB_PREFIX, QUEUE_PREFIX

log = logging.getLogger("incident_bot.recovery")

CLAIMERS_KEY = "incident-bot:claimers"
ALIVE_PREFIX = "incident-bot:alive:"


def alive_key(worker_name: str) -> str:
    """A key each heartbeat renews with a short TTL: while it exists, the worker's claims are its own."""
    return ALIVE_PREFIX + worker_name


def claims_key(worker_name: str) -> str:
    """The list holding the jobs a worker has taken and not yet started."""
    return f"incident-bot:claims:{worker_name}"


# Put every claim of KEYS[1] back at the front of its origin queue (oldest claim ends up first).
# A job that is gone, or no longer `queued` (canceled, deleted), is dropped from the claims.
_RETURN = """
local n = 0
while true do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  local job = ARGV[1] .. id
  local origin = redis.call('HGET', job, 'origin')
  if origin and redis.call('HGET', job, 'status') == 'queued' then
    redis.call('LPUSH', ARGV[2] .. origin, id)
    n = n + 1
  end
end
return n
"""

RETURN_LUA = _RETURN

# Dequeue without blocking: first return stale claims of this worker (a start that Redis
# interrupted), then take the first job of the first non-empty queue into the claims.
# KEYS: 1 claims, 2 claimers set, 3.. queue keys.  ARGV: 1 job prefix, 2 queue prefix, 3 worker name.
CLAIM_LUA = (
    "redis.call('SADD', KEYS[2], ARGV[3])\n"
    + "local returned = (function()\n"
    + _RETURN
    + "end)()\n"
    + """
for i = 3, #KEYS do
  local id = redis.call('LMOVE', KEYS[i], KEYS[1], 'LEFT', 'RIGHT')
  if id then return {KEYS[i], id, returned} end
end
return {false, false, returned}
"""
)

# Sweep one claimer: only if its alive key is gone (the worker is dead), return its claims.
# KEYS: 1 claims, 2 claimers set, 3 alive key.  ARGV: 1 job prefix, 2 queue prefix, 3 worker name.
SWEEP_LUA = (
    "if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end\n"
    + "local returned = (function()\n"
    + _RETURN
    + "end)()\n"
    + "redis.call('SREM', KEYS[2], ARGV[3])\nreturn returned\n"
)


class Claims:
    """The claims list of one worker, and the scripts that move jobs in and out of it."""

    def __init__(self, connection: Redis, worker_name: str):
        self.connection = connection
        self.worker_name = worker_name
        self.key = claims_key(worker_name)
        self._claim = connection.register_script(CLAIM_LUA)
        self._return = connection.register_script(RETURN_LUA)
        self._sweep = connection.register_script(SWEEP_LUA)

    def _args(self) -> list[str]:
        return [JOB_PREFIX, QUEUE_PREFIX, self.worker_name]

    def take(self, queue_keys: list[str], block_seconds: int = 0) -> str | None:
        """Move the next job id of the first non-empty queue into the claims; block on the first queue if asked."""
        queue_key, job_id, returned = self._claim(keys=[self.key, CLAIMERS_KEY, *queue_keys], args=self._args())
        if returned:
            log.warning("put %s interrupted job(s) back on their queue", returned)
        if job_id:
            return _text(job_id)
        if block_seconds <= 0 or not queue_keys:
            return None
        # BLMOVE takes one source: block on the deliveries queue, look at the others on the next round.
        moved = self.connection.blmove(queue_keys[0], self.key, block_seconds, "LEFT", "RIGHT")
        return _text(moved) if moved else None

    def drop(self, job_id: str) -> None:
        """Forget a claim whose job no longer exists."""
        self.connection.lrem(self.key, 1, job_id)

    def give_back(self) -> int:
        """Put every claim back on its queue (the worker is stopping); returns how many."""
        return int(self._return(keys=[self.key], args=self._args()))

    def sweep(self) -> int:
        """Return the claims of every worker that is gone; returns how many jobs went back."""
        total = 0
        for raw in self.connection.smembers(CLAIMERS_KEY):
            name = _text(raw)
            keys = [claims_key(name), CLAIMERS_KEY, alive_key(name)]
            returned = int(self._sweep(keys=keys, args=[JOB_PREFIX, QUEUE_PREFIX, name]))
            if returned > 0:
                log.warning("put %s job(s) of stopped worker %s back on their queue", returned, name)
                total += returned
        return total


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
