"""Real Prometheus and Alertmanager, many groups or many senders at once (issue 18).

A storm: one rule fires for 30 shards and Alertmanager groups by shard, so 30 groups arrive together; the bot
opens `max_new_incidents_per_minute` incidents and gathers the rest into one storm incident. Two web processes:
Alertmanager's receiver posts every notification to both at once; one incident, nothing posted twice.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis import Redis

from tests.conftest import test_redis_url
from tests.e2e.alerting import (
    OPS,
    TIMEOUT,
    AlertRule,
    Gauges,
    bot_env,
    counted,
    incidents,
    monitoring,
    notes,
    posted,
    rules_with_alerts,
    skip_without_monitoring,
    write_configs,
)
from tests.e2e.harness import Stack, free_port, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = pytest.mark.e2e
skip_without_monitoring()
SHARDS = [f"s{n:02d}" for n in range(1, 31)]
LIMIT = 5
SHARD_DOWN = AlertRule(
    "ShardDown", "shard_down > 0", {"severity": "warning", "service": "search"}, "Shard {{ $labels.shard }} is down"
)
STORM_RULES = f"""alerts:
  default: {{project: ops/production}}
  severity:
    label: severity
    map: {{critical: 1, warning: 3}}
    default: 3
  max_new_incidents_per_minute: {LIMIT}
"""
STORM_TITLE = "Alert storm: many alert groups at once"


def _shards_named(text: str) -> list[str]:
    return re.findall(r"Shard (s\d\d) is down", text)


def test_a_storm_of_30_groups_opens_at_most_the_limit_and_one_storm_incident_naming_the_rest(
    tmp_path: Path, fake_server: FakeGitLabServer, gitlab: FakeGitLab, redis_conn: Redis
) -> None:
    """30 groups at once, limit 5: 5 incidents of their own + 1 storm incident listing the other 25, each once;
    every incident declared; nothing more once the worker is idle."""
    am_port = free_port()
    env = bot_env(am_port, INCIDENT_BOT_RULES=str(rules_with_alerts(tmp_path, STORM_RULES)))
    stack = Stack(tmp_path, fake_server.url, test_redis_url(), **env)
    gauges = Gauges()
    for shard in SHARDS:
        gauges.set("shard_down", 0, shard=shard)
    try:
        stack.start_web()
        stack.start_worker()
        files = write_configs(tmp_path, [SHARD_DOWN], gauges, [stack.url], am_port, group_by=("alertname", "shard"))
        with monitoring(tmp_path, *files, am_port):
            # The limit counts the new groups of the last 60 s: the storm may start at any moment of a minute.
            for shard in SHARDS:
                gauges.set("shard_down", 1, shard=shard)

            def storm_listing_25() -> list[str]:
                storm = [i for i in incidents(gitlab) if i["title"] == STORM_TITLE]
                return _shards_named(storm[0]["description"]) if len(storm) == 1 else []

            wait_until(
                lambda: len(storm_listing_25()) >= len(SHARDS) - LIMIT,
                timeout=TIMEOUT,
                what="the storm incident listing 25 groups",
                describe=lambda: f"{[i['title'] for i in incidents(gitlab)]}\n{stack.output()[-6000:]}",
            )
            wait_until(stack.idle, timeout=TIMEOUT, what="the worker idle", describe=stack.output)
            found = incidents(gitlab)
            assert len(found) <= LIMIT + 1, [i["title"] for i in found]
            own = [i for i in found if i["title"] != STORM_TITLE]
            [storm] = [i for i in found if i["title"] == STORM_TITLE]
            own_shards = [shard for i in own for shard in _shards_named(i["title"])]
            listed = _shards_named(storm["description"])
            assert len(own) == LIMIT and len(set(own_shards)) == LIMIT
            assert sorted(listed) == sorted(set(SHARDS) - set(own_shards)), listed  # each other group once
            assert all(i["project_id"] == OPS and "incident" in i["labels"] for i in found)
            assert len(posted(gitlab, "/issues")) == LIMIT + 1  # no issue was opened and lost
            declared = {i["iid"] for i in found}
            wait_until(lambda: all(notes(gitlab, iid) for iid in declared), timeout=TIMEOUT, what="all declared")
            wait_until(stack.idle, timeout=TIMEOUT, what="the worker idle", describe=stack.output)
            said = {iid: notes(gitlab, iid) for iid in declared}
            assert all(len(bodies) == 1 for bodies in said.values()), said  # each declared in one comment
    finally:
        gauges.stop()
        stack.stop()
        print(stack.output()[-20000:])


def test_two_web_processes_given_the_same_group_at_once_open_one_incident(
    tmp_path: Path, fake_server: FakeGitLabServer, gitlab: FakeGitLab, redis_conn: Redis
) -> None:
    """Alertmanager's receiver has a webhook per web process (same Redis, same worker): every notification reaches
    both at once; one incident, declared once, no comment posted twice."""
    am_port = free_port()
    stack = Stack(tmp_path, fake_server.url, test_redis_url(), **bot_env(am_port))
    gauges = Gauges()
    gauges.set("checkout_broken", 1)
    rule = AlertRule("CheckoutBroken", "checkout_broken > 0", {"severity": "critical"}, "Checkout is broken")
    try:
        stack.start_web()
        first = stack.url
        stack.start_web()
        second = stack.url
        stack.start_worker()
        files = write_configs(tmp_path, [rule], gauges, [first, second], am_port)
        with monitoring(tmp_path, *files, am_port):
            [issue] = wait_until(
                lambda: incidents(gitlab), timeout=TIMEOUT, what="the alert incident", describe=stack.output
            )
            wait_until(lambda: notes(gitlab, issue["iid"]), timeout=TIMEOUT, what="the declaration")
            # Both processes answered the same notifications, repeats (repeat_interval 3s) included.
            # Every notification reached both processes (repeat_interval 3s): one queued it, the other found it
            # queued. /metrics adds up every web process of the stack.
            wait_until(
                lambda: counted(stack, "duplicate", first) >= 3, timeout=TIMEOUT, what="the second copies answered"
            )
            wait_until(stack.idle, timeout=TIMEOUT, what="the worker idle", describe=stack.output)
            assert len(incidents(gitlab)) == 1 and len(posted(gitlab, "/issues")) == 1
            said = [n["body"] for n in posted(gitlab, "/notes")]
            assert len(said) == len(set(said)) == 1, said
    finally:
        gauges.stop()
        stack.stop()
        print(stack.output()[-20000:])
