"""Structured log lines: `message key=value ...`, carrying delivery, project and iid."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Bound(logging.LoggerAdapter):
    """A logger that appends its bound fields to every line."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        fields = " ".join(f"{k}={v}" for k, v in (self.extra or {}).items() if v not in (None, ""))
        return (f"{msg} {fields}" if fields else msg), kwargs


def bind(logger: logging.Logger, **fields: Any) -> Bound:
    """A logger for one delivery: `bind(log, delivery=..., project=..., iid=...)`."""
    return Bound(logger, fields)


def setup(level: str = "INFO") -> None:
    """Configure the root logger once for a process."""
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=sys.stderr, force=True)
    quiet_rq()


# RQ's lines that say something about the process (start, stop); everything else it says at INFO
# (registries cleaned every few seconds, three lines per job) is kept for DEBUG: one line per
# delivery, the bot's own "applied", is what an operator reads.
RQ_KEEP = ("started with PID", "warm shut down", "cold shut down", "stopping on request", "Scheduler for")
RQ_LOGGERS = ("rq.worker", "rq.job", "rq.queue", "rq.scheduler")


class QuietRQ(logging.Filter):
    """Demote RQ's routine INFO lines to DEBUG (shown only when the logger is at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or any(k in str(record.msg) for k in RQ_KEEP):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_rq() -> None:
    """Install QuietRQ on RQ's loggers (idempotent)."""
    for name in RQ_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietRQ) for f in logger.filters):
            logger.addFilter(QuietRQ())
