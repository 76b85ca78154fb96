"""Run the Flask receiver under gunicorn, configured from code rather than a config file."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class Gunicorn(BaseApplication):
    """gunicorn serving the app that `factory` makes, with `options` as its settings."""

    def __init__(self, options: dict[str, Any], factory: Callable[[], Any]):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def default_workers() -> int:
    """One sync worker per core, at least two.

    Measured on 2 cores (bench/run.py): 4 workers raise the incident path from ~2,200 to
    ~2,600 deliveries/s by overlapping Redis waits, but cut the far more frequent ignored
    deliveries from ~5,300 to ~4,700/s; both are far above any GitLab webhook rate.
    """
    return max(2, os.cpu_count() or 1)


def gunicorn_options(bind: str, workers: int) -> dict[str, Any]:
    """The settings the receiver runs with; the benchmark uses the same for its baseline."""
    return {
        "bind": bind,
        "workers": max(workers, 1),
        "worker_class": "sync",
        # GitLab waits 10 s for an answer; a delivery is answered in milliseconds.
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "preload_app": True,
    }


def run_gunicorn(bind: str, workers: int = 2) -> None:
    """Serve `create_app()` (settings from the environment) until stopped."""
    from .app import create_app

    Gunicorn(gunicorn_options(bind, workers), create_app).run()
