"""The planning steps, composed explicitly and run in this order for every delivery."""

from __future__ import annotations

from collections.abc import Callable

from ..planner import Draft
from .builtin import exclusive_scopes, native_severity, record
from .commands import run_commands
from .rules import run_rules

HANDLERS: list[Callable[[Draft], None]] = [
    exclusive_scopes,
    native_severity,
    run_commands,
    run_rules,
    record,
]
