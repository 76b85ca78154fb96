"""The rows `setup` and `doctor` print: what was checked, what happened, and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """What setup did to one thing, or what doctor found."""

    CREATED = "created"
    UPDATED = "updated"
    RIGHT = "already right"
    WOULD_CREATE = "would create"  # --dry-run
    WOULD_UPDATE = "would update"  # --dry-run
    FAILED = "could not"
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


PROBLEMS = frozenset({Status.FAILED, Status.FAIL})


@dataclass(frozen=True)
class Row:
    """One line of the table: the kind of thing, which one, its status, and why or what to do."""

    what: str
    name: str
    status: Status
    detail: str = ""


def render(rows: Sequence[Row]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    header = ("what", "name", "status", "detail")
    cells = [header, *((r.what, r.name, str(r.status), r.detail) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    lines = []
    for cell in cells:
        line = "  ".join(cell[i].ljust(widths[i]) for i in range(3)) + "  " + cell[3]
        lines.append(line.rstrip())
    return "\n".join(lines)


def has_problem(rows: Sequence[Row]) -> bool:
    """True when any row could not be done or failed."""
    return any(r.status in PROBLEMS for r in rows)
