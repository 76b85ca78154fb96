"""Put deliveries on the RQ queue in one Redis round trip: deduplicated, ordered per issue.

RQ's own `Queue.enqueue` costs several round trips and a WATCH transaction per
job, which caps the receiver at about a third of a bare endpoint's rate. Here
one Lua script does, atomically:

1. ignore the bot's own events (its username is cached in Redis by the worker);
2. drop a redelivery (a `SET NX` on the delivery id, kept for `dedupe_ttl`);
3. record the job as the issue's latest event and read the one before it;
4. write the job hash in RQ's own format (`rqstore.job_fields`, from a template `Job`);
5. if the issue's previous event is still pending, register the new job as its
   dependent exactly as RQ does (`allow_dependency_failures`), so RQ enqueues it
   when the previous one finishes or finally fails; otherwise push it.

Step 5 is what keeps one issue's events in arrival order even across retries
and a killed worker, while events of different issues run in parallel.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis import Redis
from rq import Queue
from rq.utils import now, utcformat

from . import rqstore
from .jobs import PROCESS_FUNC
from .keys import Keys

# About 6.5 minutes of GitLab trouble before a job is failed. The first retry is immediate
# (the GitLab session has already backed off inside the job) and needs no scheduler: a worker
# killed together with its scheduler leaves the scheduler lock held for another ~60 s.
RETRY_INTERVALS = (0, 5, 15, 60, 300)
JOB_TIMEOUT = 120
RESULT_TTL = 24 * 3600
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")

ENQUEUE_LUA = """
-- KEYS: 1 dedupe, 2 issue's last job, 3 job hash, 4 queue list, 5 bot username,
--       6 deferred registry, 7 job's dependencies set
-- ARGV: 1 job id, 2 ttl, 3 actor username, 4 job key prefix, 5 now, 6.. per-job hash fields
if ARGV[3] ~= '' then
  local bot = redis.call('GET', KEYS[5])
  if bot and bot == ARGV[3] then return {'self'} end
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return {'duplicate'} end
local prev = redis.call('SET', KEYS[2], ARGV[1], 'GET', 'EX', ARGV[2])
local pending = false
if prev then
  local st = redis.call('HGET', ARGV[4] .. prev, 'status')
  pending = st and ({PENDING})[st]
end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], {TEMPLATE}, 'status', pending and 'deferred' or 'queued', unpack(ARGV, 6))
if pending then
  redis.call('HSET', KEYS[3], 'dependency_id', prev, 'allow_dependency_failures', '1')
  redis.call('SADD', KEYS[7], prev)
  redis.call('SADD', {DEPENDENTS_BEFORE} .. prev .. {DEPENDENTS_AFTER}, ARGV[1])
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
  return {'deferred', prev}
end
redis.call('RPUSH', KEYS[4], ARGV[1])
return {'queued'}
""".replace("{PENDING}", "{" + ", ".join(f"['{s}'] = true" for s in rqstore.PENDING) + "}")


def _lua_string(value: Any) -> str:
    """A Lua long-bracket string literal: no escaping needed for RQ's field values."""
    text = value.decode() if isinstance(value, bytes) else str(value)
    if "]==]" in text:
        raise ValueError(f"job template value not representable in Lua: {text!r}")
    return f"[==[{text}]==]"


class EnqueueOutcome(StrEnum):
    """What happened to a delivery at the queue."""

    QUEUED = "queued"
    DEFERRED = "deferred"  # queued behind an earlier event of the same issue
    DUPLICATE = "duplicate"
    SELF = "self"  # the bot's own change
    SPOOLED = "spooled"  # Redis unreachable: kept in the local spool until it answers (service.intake)


@dataclass(frozen=True)
class Enqueued:
    outcome: EnqueueOutcome
    job_id: str
    after: str | None = None


def job_id_for(delivery_id: str, keys: Keys | None = None) -> str:
    """The job id of a delivery: RQ job ids allow letters, digits, `_` and `-`; anything else is hashed."""
    raw = delivery_id
    if not _JOB_ID.fullmatch(delivery_id):
        raw = "key-" + hashlib.sha256(delivery_id.encode()).hexdigest()[:40]
    return (keys or Keys()).job_id(raw)


class EventQueue:
    """The deliveries queue: a plain RQ queue, written to by one Lua script."""

    def __init__(
        self,
        connection: Redis,
        name: str = "incident-bot",
        dedupe_ttl: int = 7 * 24 * 3600,
        func: str = PROCESS_FUNC,
        retry_intervals: tuple[int, ...] = RETRY_INTERVALS,
        keys: Keys | None = None,
    ):
        self.connection = connection
        self.func = func
        self.retry_intervals = retry_intervals
        self.queue = Queue(name, connection=connection)
        # The deployment's keys and job ids (Settings.keys); the default namespace when not said.
        self.keys = keys or Keys()
        self.dedupe_ttl = dedupe_ttl
        self._deferred_key = rqstore.deferred_key(name)
        # The job fields that never change are written into the script itself, so each delivery
        # sends only its own four and Redis reads no template.
        static = rqstore.job_fields(
            connection,
            func,
            queue_name=self.queue.name,
            timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            retry_intervals=retry_intervals,
        )
        template = ", ".join(f"{_lua_string(k)}, {_lua_string(v)}" for k, v in static.items())
        before, after = rqstore.DEPENDENTS_KEY
        script = ENQUEUE_LUA.replace("{DEPENDENTS_BEFORE}", _lua_string(before))
        script = script.replace("{DEPENDENTS_AFTER}", _lua_string(after))
        self._script = connection.register_script(script.replace("{TEMPLATE}", template))
        self._registered = False

    def enqueue(self, body: bytes, meta: dict[str, Any], *, delivery_id: str, issue_key: str, actor: str) -> Enqueued:
        """Enqueue one delivery for `func(body, meta)` (`process_delivery`); one Redis round trip."""
        job_id = job_id_for(delivery_id, self.keys)
        moment = now()
        stamp = utcformat(moment)
        keys = [
            self.keys.seen(delivery_id),
            self.keys.last(issue_key),
            rqstore.job_key(job_id),
            self.queue.key,
            self.keys.bot_username,
            self._deferred_key,
            rqstore.dependencies_key(job_id),
        ]
        args: list[Any] = [
            job_id,
            self.dedupe_ttl,
            actor,
            rqstore.JOB_PREFIX,
            moment.timestamp(),
            *rqstore.job_own_fields(
                self.func, (body, meta), description=f"{meta.get('event', 'delivery')} for {issue_key}", stamp=stamp
            ),
        ]
        if not self._registered:
            # Only RQ's dashboards read `rq:queues`; once per process is plenty.
            self.connection.sadd(rqstore.QUEUES_KEY, self.queue.key)
            self._registered = True
        result = self._script(keys=keys, args=args)
        outcome = EnqueueOutcome(result[0].decode() if isinstance(result[0], bytes) else result[0])
        after = result[1].decode() if len(result) > 1 and isinstance(result[1], bytes) else None
        return Enqueued(outcome=outcome, job_id=job_id, after=after)


def remember_bot_username(connection: Redis, username: str, keys: Keys | None = None) -> None:
    """Let the receiver drop the bot's own events before they reach the queue."""
    connection.set((keys or Keys()).bot_username, username)


def notify_queue_name(queue_name: str) -> str:
    """The queue of notifications and reminders beside deliveries queue `queue_name` (the one place it is named)."""
    return f"{queue_name}-notify"
