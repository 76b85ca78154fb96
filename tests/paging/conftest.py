"""Fixtures of the paging tests: rules with `paging.yml`, and a worker runtime whose follow-ups page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from service.config import Settings
from service.queue import EventQueue, notify_queue_name
from service.rules import RuleSet, load_rules
from service.worker.followups import FollowUps
from service.worker.paging import PagingFollowUps
from service.worker.runtime import Runtime, install
from tests.conftest import NOW
from tests.paging.pagingrules import paging_rules


@pytest.fixture()
def paging_dir(tmp_path: Path) -> Path:
    return paging_rules(tmp_path)


@pytest.fixture()
def prules(paging_dir: Path) -> RuleSet:
    return load_rules(paging_dir)


@pytest.fixture()
def pruntime(settings: Settings, prules: RuleSet, redis_conn: Redis) -> Iterator[Runtime]:
    """The worker runtime with paging rules and follow-ups (pages and steps queued, not run), a fixed clock."""
    notify = Queue(notify_queue_name(settings.queue_name), connection=redis_conn)
    deliveries = EventQueue(redis_conn, settings.queue_name, keys=settings.keys)
    followups = FollowUps(connection=redis_conn, queue=notify, targets=dict(prules.channels), deliveries=deliveries)
    followups.paging = PagingFollowUps(notify, minute_seconds=60.0)
    rt = Runtime(settings=settings, rules=prules, connection=redis_conn, clock=lambda: NOW, followups=followups)
    install(rt)
    yield rt
