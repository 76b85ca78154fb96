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
