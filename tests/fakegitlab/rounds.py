"""Sequential round trips: calls that overlap in time are one round; a call starting after every call of
the round before it has been answered starts the next round. Run with latency injected, so that calls sent
together overlap for sure and calls sent one after another cannot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def rounds(calls: Sequence[Any]) -> list[list[Any]]:
    """The calls grouped into rounds, in order (each call needs `started` and `ended`)."""
    found: list[list[Any]] = []
    end = float("-inf")
    for call in sorted(calls, key=lambda c: c.started):
        if found and call.started < end:
            found[-1].append(call)
            end = max(end, call.ended)
        else:
            found.append([call])
            end = call.ended
    return found
