"""What one person cannot make the bot do without limit: open drills, and draw refusals.

Planning is pure, so these Redis checks run here, on the finished plan, before anything is written:

- a plan opening a drill (`@bot drill <scenario>`) takes one of the person's drills in this project
  (`settings.drill_limit`, default 5 in 60 minutes, a sliding window); beyond it the whole plan becomes
  one comment refusing it and saying when they may ask again;
- a plan whose comment refuses a command (below Developer access, or over the drill limit) is posted
  at most once an hour per person and project; later refusals are logged and counted, not posted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from redis import Redis

from ..handlers.commands import REFUSED_RULE
from ..keys import Keys
from ..plan import After, OpenDrill, Plan, PostNote, Remember
from ..rules.drills import drill_limit
from ..text import mention

if TYPE_CHECKING:
    from ..incident import IncidentState
    from .delivery import Delivery

LIMITED_RULE = "command:drill-limited"
QUIET_SECONDS = 3600  # one answered refusal per person and project an hour
LIMITED = (
    "Sorry {actor}, you have opened {count} in this project in the last {minutes}, the most the rules "
    "allow (`drill_limit` in `rules/settings.yml`). You may ask again after {when}."
)
# KEYS: 1 the person's drills (a sorted set: member the request's delivery id, score when it was taken)
# ARGV: 1 now, 2 window seconds, 3 most, 4 this request. A retried request keeps its own place.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return {1, ''} end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
  return {1, ''}
end
return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
"""


def _who(delivery: Delivery) -> tuple[int, str]:
    actor = delivery.event.actor
    return delivery.event.project_id, str(actor.id) if actor.id is not None else actor.username


def take_drill(connection: Redis, delivery: Delivery, keys: Keys) -> datetime | None:
    """Count this request against its author's drills; None when allowed, else when they may ask again."""
    project, actor = _who(delivery)
    most, minutes = drill_limit(delivery.rules)
    now = delivery.clock().timestamp()
    key = keys.drills_taken(project, actor)
    allowed, oldest = connection.eval(_TAKE, 1, key, now, minutes * 60, most, delivery.event.delivery_id)
    if allowed:
        return None
    return datetime.fromtimestamp(float(oldest) + minutes * 60, UTC)


def _limited(delivery: Delivery, state: IncidentState, again: datetime) -> Plan:
    most, minutes = drill_limit(delivery.rules)
    window = "hour" if minutes == 60 else f"{minutes:g} minutes" if minutes % 60 else f"{minutes / 60:g} hours"
    moment = (again + timedelta(seconds=59)).strftime("%Y-%m-%d %H:%M UTC")  # rounded up: never too early
    count = f"{most} drill" + ("s" if most > 1 else "")
    text = LIMITED.format(actor=mention(delivery.event.actor.username), count=count, minutes=window, when=moment)
    return Plan((PostNote(LIMITED_RULE, (text,)),), after=After.unchanged(state))  # the refusal changes nothing


def with_limits(plan: Plan, delivery: Delivery, state: IncidentState, connection: Redis, keys: Keys) -> Plan:
    """The plan within the person's limits: a drill beyond theirs refused, a refusal not repeated within the hour."""
    if plan.of(OpenDrill):
        again = take_drill(connection, delivery, keys)
        if again is not None:
            who = delivery.event.actor.username
            delivery.log.warning("drill refused: @%s is over the drill limit until %s", who, again.isoformat())
            plan = _limited(delivery, state, again)
    refusals = [a for a in plan.actions if isinstance(a, PostNote) and a.rule in (REFUSED_RULE, LIMITED_RULE)]
    if not refusals:
        return plan
    project, actor = _who(delivery)
    answered, ident = keys.refusal_answered(project, actor), delivery.event.delivery_id
    # The key holds the delivery answered: its own retry (the comment failed to post) still answers.
    if connection.set(answered, ident, nx=True, ex=QUIET_SECONDS) or connection.get(answered) == ident.encode():
        connection.delete(keys.refusals_unanswered(project, actor))
        return plan
    quiet = keys.refusals_unanswered(project, actor)
    count = connection.incr(quiet)
    connection.expire(quiet, QUIET_SECONDS)
    delivery.log.warning(
        "refusal not posted: @%s was answered within the hour (%s unanswered since)",
        delivery.event.actor.username,
        count,
    )
    kept = tuple(a for a in plan.actions if a not in refusals)
    if kept or state.memory_note_id is None:
        return replace(plan, actions=kept)
    # Nothing else to write: the bot's memory still records the comment as handled (its note edited, nothing posted).
    return Plan((Remember(LIMITED_RULE, "notes", state.memory.get("notes")),), after=After.unchanged(state))
