"""Structured log lines carrying delivery, project and iid: `message key=value ...`, or one JSON object a line.

`INCIDENT_BOT_LOG_FORMAT=json` (read by the CLI) gives one JSON object per line, gunicorn's own lines included.
gunicorn is imported only when the web process asks for its logger class.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

from .errors import ConfigError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
# Plan lines name the rule behind each action (`AddLabels(...)  [rule: default-severity]`, plan.describe).
RULE = re.compile(r"\[rule: ([^\]]+)\]")
_json_lines = False  # set by setup(): bound fields then go into the JSON object, not the message


class Bound(logging.LoggerAdapter):
    """A logger that carries its bound fields on every line (appended as key=value, or as JSON keys)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        bound = {k: v for k, v in (self.extra or {}).items() if v not in (None, "")}
        kwargs["extra"] = {**(kwargs.get("extra") or {}), "bound": bound}
        if _json_lines or not bound:
            return msg, kwargs
        return f"{msg} {' '.join(f'{k}={v}' for k, v in bound.items())}", kwargs


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the bound fields, the rules a line names."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        data.update(getattr(record, "bound", None) or {})
        rules = list(dict.fromkeys(RULE.findall(message)))
        if rules:
            data["rules"] = rules
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def formatter() -> logging.Formatter:
    """The formatter of this process's lines (text or JSON, as setup chose)."""
    return JsonFormatter() if _json_lines else logging.Formatter(FORMAT)


def gunicorn_logger_class() -> type:
    """gunicorn's logger with its handlers given our formatter, so its own lines follow the chosen format."""
    from gunicorn.glogging import Logger  # only the web process needs gunicorn

    class Formatted(Logger):
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            if _json_lines:
                for handler in (*self.error_log.handlers, *self.access_log.handlers):
                    handler.setFormatter(JsonFormatter())

    return Formatted


def bind(logger: logging.Logger, **fields: Any) -> Bound:
    """A logger for one delivery: `bind(log, delivery=..., project=..., iid=...)`."""
    return Bound(logger, fields)


def setup(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once for a process; `fmt` is `text` or `json` (INCIDENT_BOT_LOG_FORMAT)."""
    global _json_lines
    if fmt not in FORMATS:
        raise ConfigError(f"incident-bot: INCIDENT_BOT_LOG_FORMAT is {fmt!r}; use text or json")
    _json_lines = fmt == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
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
