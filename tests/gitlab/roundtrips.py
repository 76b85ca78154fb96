"""One delivery of each kind through the real job against the fake GitLab with latency injected: its calls and
its sequential round trips (tests/gitlab/test_roundtrips.py asserts on them, bench/roundtrips.py prints them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import responses
from redis import Redis

from service.config import Settings
from service.incident import write_memory
from service.rules import RuleSet
from service.worker import Runtime, install, process_delivery
from tests.conftest import DECLARED, GITLAB, body, payload
from tests.fakegitlab import BOT, Call, FakeGitLab, install_responses, rounds
from tests.rulesdir import TEST_RULES

# Delivery kind -> (fixture, the incident as GitLab holds it when the delivery comes: declared or not).
KINDS: dict[str, tuple[str, bool]] = {
    "incident opened": ("issue.open.incident", False),
    "escalation": ("issue.update.severity", True),
    "phase change": ("issue.update.phase", True),
}
# The issue's "today" (before service/gitlab/): sequential round trips with the bot's user not yet known.
TODAY = {"incident opened": 7, "escalation": 8, "phase change": 5}


@dataclass
class Measured:
    """One delivery's GitLab calls, grouped into sequential rounds, and its wall time."""

    calls: list[Call]
    rounds: list[list[Call]]
    seconds: float


def prepared(kind: str, latency: float) -> FakeGitLab:
    """The fake GitLab as it stands when a delivery of `kind` comes (its labels as the hook says)."""
    fixture, declared = KINDS[kind]
    fake = FakeGitLab(latency=latency)
    fake.add_issue(1, 23)
    if declared:
        fake.issues[(1, 23)]["labels"] = [label["title"] for label in payload(fixture)["labels"]]
        fake.add_note((1, 23), write_memory("Declared.", {**DECLARED, "checklists": {}}), BOT["username"])
    return fake


def deliver(kind: str, rules: RuleSet, connection: Redis, now: datetime, *, latency: float = 0.05,
            redis_url: str = "redis://-", bot_known: bool = False) -> Measured:  # fmt: skip
    """Run one delivery of `kind` through `process_delivery` (the Redis given is flushed first)."""
    import time  # only the wall time of the job itself

    connection.flushdb()
    fake = prepared(kind, latency)
    settings = Settings(gitlab_url=GITLAB, gitlab_token="t", redis_url=redis_url, rules_dir=TEST_RULES)
    install(Runtime(settings, rules, connection, clock=lambda: now))
    if bot_known:  # the bot's username as a worker asked it within the hour
        connection.set(settings.keys.bot_username, BOT["username"])
        connection.set(settings.keys.bot_user_checked, "1")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        install_responses(rsps, fake, GITLAB)
        began = time.perf_counter()
        process_delivery(body(KINDS[kind][0]), {"delivery_id": kind, "event_uuid": "uuid-1"})
        seconds = time.perf_counter() - began
    return Measured(list(fake.calls), rounds(fake.calls), seconds)
