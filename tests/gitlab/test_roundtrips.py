"""Sequential round trips to GitLab per delivery kind, counted against the fake with latency injected (calls that
overlap are one round; never a timed assertion). The issue's bounds: an incident opened and an escalation in at
most 3, a phase change in 2; where these counts are above them, the docstring says what is left."""

from __future__ import annotations

import pytest
from redis import Redis

from service.rules import RuleSet
from tests.conftest import NOW, test_redis_url
from tests.gitlab.roundtrips import KINDS, TODAY, deliver

# Rounds now, with the bot's user not known yet (an hour's first delivery: asked with the incident's state) and
# known (every other one). Left for the bounds: staffing by username in the GraphQL write (no user
# lookups before it), and a phase change's PUT sent with its note.
ROUNDS = {
    "incident opened": (4, 4),
    "escalation": (4, 4),
    "phase change": (3, 3),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_round_trips_per_delivery_kind(kind: str, rules: RuleSet, redis_conn: Redis) -> None:
    """Reads sent together (the issue with the notes, every user lookup), the issue's PUT with the severity."""
    cold = deliver(kind, rules, redis_conn, NOW, latency=0.05, redis_url=test_redis_url())
    warm = deliver(kind, rules, redis_conn, NOW, latency=0.05, redis_url=test_redis_url(), bot_known=True)
    assert (len(cold.rounds), len(warm.rounds)) == ROUNDS[kind], [[repr(c) for c in r] for r in cold.rounds]
    assert len(cold.rounds) < TODAY[kind]
    assert cold.calls[-1].method == "POST" and cold.calls[-1].path.endswith("/notes")  # the note goes last
