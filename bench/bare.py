"""Reference servers for the receiver benchmark, all under the receiver's own gunicorn settings.

`python bench/bare.py --bind 127.0.0.1:PORT --workers N [--mode bare|ping|rq]`:

- `bare`: read the body, answer ok; the ceiling.
- `ping`: the same plus one Redis PING: the floor for any design that has a delivery in Redis
  before it answers (it cannot be faster than one round trip).
- `rq`: the real receiver with RQ's own `Queue.enqueue` in place of the one-Lua-call enqueue.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from redis import Redis
from rq import Retry
from rq.exceptions import DuplicateJobError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.jobs import PROCESS_FUNC  # noqa: E402
from service.queue import (  # noqa: E402
    JOB_TIMEOUT,
    RESULT_TTL,
    RETRY_INTERVALS,
    Enqueued,
    EnqueueOutcome,
    EventQueue,
    job_id_for,
)
from service.web.server import Gunicorn, gunicorn_options  # noqa: E402


def create_bare_app(ping: bool = False) -> Flask:
    """Read the body, answer `{"status": "ok"}`: the least any webhook endpoint does (and one PING if asked)."""
    app = Flask("bare")
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11")) if ping else None

    @app.post("/webhook")
    def webhook() -> Any:
        """Read the delivery, answer ok."""
        request.get_data()
        if redis is not None:
            redis.ping()
        return jsonify(status="ok"), 200

    @app.get("/readyz")
    def readyz() -> Any:
        """Always ready: nothing to depend on."""
        return jsonify(status="ready"), 200

    return app


def naive_enqueue(
    self: EventQueue, body: bytes, meta: dict[str, Any], *, delivery_id: str, issue_key: str, actor: str
) -> Enqueued:
    """What a straightforward receiver does: RQ's `enqueue` with a unique job id (and no per-issue order)."""
    job_id = job_id_for(delivery_id)
    try:
        self.queue.enqueue(
            PROCESS_FUNC,
            body,
            meta,
            job_id=job_id,
            unique=True,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
        )
    except DuplicateJobError:
        return Enqueued(EnqueueOutcome.DUPLICATE, job_id)
    return Enqueued(EnqueueOutcome.QUEUED, job_id)


def create_rq_app() -> Flask:
    """The receiver, with RQ's own enqueue."""
    from service.web.app import create_app

    EventQueue.enqueue = naive_enqueue  # type: ignore[method-assign]
    return create_app()


def main() -> None:
    """Serve one reference app until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mode", choices=["bare", "ping", "rq"], default="bare")
    args = parser.parse_args()
    factories = {"bare": create_bare_app, "ping": lambda: create_bare_app(ping=True), "rq": create_rq_app}
    Gunicorn(gunicorn_options(args.bind, args.workers), factories[args.mode]).run()


if __name__ == "__main__":
    main()
