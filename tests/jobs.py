"""Job functions for queue tests: they record when they ran, in Redis, so order can be checked."""

from __future__ import annotations

import json
import time
from typing import Any

from rq import get_current_job

HOLD_LIMIT = 120.0  # a job waiting for a key the test never sets fails instead of holding its worker forever


def record(body: bytes, meta: dict[str, Any]) -> str:
    """Append (delivery, start, end) to a Redis list after holding the job for `hold` seconds, or until the key
    `hold_until` exists (set by the test, or `test:started:<id>`, which each job sets as it starts)."""
    job = get_current_job()
    assert job is not None
    data = json.loads(body)
    start = time.time()
    job.connection.set(f"test:started:{meta['delivery_id']}", start)
    time.sleep(float(data.get("hold", 0)))
    if data.get("hold_until"):
        limit = time.monotonic() + HOLD_LIMIT
        while not job.connection.exists(data["hold_until"]):
            if time.monotonic() > limit:
                raise RuntimeError(f"{meta['delivery_id']}: {data['hold_until']} never came")
            time.sleep(0.02)
    if data.get("fail_once") and job.connection.getdel("test:fail-once"):
        raise RuntimeError(f"failing once: {meta['delivery_id']}")
    if data.get("fail"):
        raise RuntimeError(f"asked to fail: {meta['delivery_id']}")
    job.connection.rpush("test:ran", json.dumps({"id": meta["delivery_id"], "start": start, "end": time.time()}))
    return "ok"


def main() -> None:
    """`python -m tests.jobs QUEUE MONITORING SLACK MAINTENANCE`: an IncidentWorker with those intervals."""
    import sys

    from redis import Redis

    from service.config import Settings
    from service.worker import make_worker
    from tests.conftest import end_with_parent, test_redis_url

    end_with_parent()  # a test run killed from outside takes its workers with it (they would wait out Redis forever)
    queue, monitoring, slack, maintenance = sys.argv[1], *map(int, sys.argv[2:5])
    settings = Settings(job_monitoring_interval=monitoring, heartbeat_slack=slack, maintenance_interval=maintenance)
    make_worker(settings, Redis.from_url(test_redis_url()), [queue]).work(with_scheduler=True)


if __name__ == "__main__":
    main()
