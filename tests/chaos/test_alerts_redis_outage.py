"""Chaos: Redis is stopped while a real Alertmanager keeps sending; once it is back, nothing lost, nothing doubled.

Real Prometheus and Alertmanager, the bot's web and worker processes, a redis-server of the test's own (append-only
file, fsync per write), the fake GitLab over HTTP. Group `a` has its incident before the outage; during it a
second alert joins group `a` and a new group `b` fires. Two ways the edge answers meanwhile: its spool takes the
notifications (202 spooled, drained once Redis answers), or, with the spool unwritable, 503, which Alertmanager
retries. Either way, once Redis is back: `b` has one incident, `a`'s table lists both alerts, each incident was
opened once and declared in one comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
    skip_without_monitoring,
    write_configs,
)
from tests.e2e.harness import RedisServer, Stack, free_port, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]
skip_without_monitoring()
DOWN = AlertRule("ServiceDown", "service_down > 0", {"severity": "critical"}, "Service {{ $labels.group }} is down")


def _incident(gitlab: FakeGitLab, title: str) -> list[dict[str, Any]]:
    return [i for i in incidents(gitlab) if i["title"] == title]


@pytest.mark.parametrize("edge", ["spooled", "503"])
def test_alerts_sent_while_redis_is_down_are_applied_once_it_is_back(
    edge: str, tmp_path: Path, fake_server: FakeGitLabServer, own_redis: RedisServer
) -> None:
    """Redis stopped; a new alert in group a and a new group b; edge spools (202) or refuses (503, Alertmanager
    retries). Redis back: b opened once, a's table has both alerts, no issue or comment twice."""
    gitlab = fake_server.fake
    am_port = free_port()
    extra = {"INCIDENT_BOT_SPOOL_DIR": str(tmp_path / "not-a-directory" / "spool")} if edge == "503" else {}
    if extra:
        (tmp_path / "not-a-directory").write_text("a file: the spool cannot be made under it\n")
    stack = Stack(tmp_path, fake_server.url, own_redis.url, **bot_env(am_port, **extra))
    gauges = Gauges()
    gauges.set("service_down", 1, group="a", instance="a1")
    gauges.set("service_down", 0, group="a", instance="a2")
    gauges.set("service_down", 0, group="b", instance="b1")
    try:
        stack.start_web()
        stack.start_worker()
        files = write_configs(tmp_path, [DOWN], gauges, [stack.url], am_port, group_by=("alertname", "group"))
        with monitoring(tmp_path, *files, am_port):
            [a] = wait_until(lambda: _incident(gitlab, "Service a is down"), timeout=TIMEOUT, what="a's incident")
            wait_until(lambda: notes(gitlab, a["iid"]), timeout=TIMEOUT, what="a declared", describe=stack.output)
            wait_until(stack.idle, timeout=TIMEOUT, what="the worker idle")
            own_redis.stop()
            gauges.set("service_down", 1, group="a", instance="a2")
            gauges.set("service_down", 1, group="b", instance="b1")
            # Alertmanager has sent both groups' news while Redis is away (and, refused, sent them again).
            wait_until(
                lambda: counted(stack, edge) >= (2 if edge == "spooled" else 4),
                timeout=TIMEOUT,
                what=f"notifications answered {edge} during the outage",
                describe=stack.output,
            )
            assert not _incident(gitlab, "Service b is down")
            own_redis.start()
            [b] = wait_until(
                lambda: _incident(gitlab, "Service b is down"),
                timeout=TIMEOUT,
                what="b's incident",
                describe=stack.output,
            )
            wait_until(
                lambda: "a2" in (_incident(gitlab, "Service a is down")[0]["description"] or ""),
                timeout=TIMEOUT,
                what="a's table with its second alert",
                describe=stack.output,
            )
            wait_until(lambda: notes(gitlab, b["iid"]), timeout=TIMEOUT, what="b declared", describe=stack.output)
            wait_until(stack.idle, timeout=TIMEOUT, what="the worker idle", describe=stack.output)
            found = incidents(gitlab)
            assert sorted(i["title"] for i in found) == ["Service a is down", "Service b is down"]
            assert len(posted(gitlab, "/issues")) == 2 and all(i["project_id"] == OPS for i in found)
            [a] = _incident(gitlab, "Service a is down")
            assert "a1" in a["description"] and "a2" in a["description"]
            said = [n["body"] for n in posted(gitlab, "/notes")]
            assert len(said) == len(set(said)) == 2, said  # one declaration each, nothing twice
            assert len(notes(gitlab, a["iid"])) == len(notes(gitlab, b["iid"])) == 1
    finally:
        gauges.stop()
        stack.stop()
        print(stack.output()[-20000:])
