"""GitLab's length limits on what the bot writes: an issue's description and a note's body hold at most 1,000,000
characters; a longer one is refused with 400 (a permanent error: the bot must never send one)."""

from __future__ import annotations

from typing import Any

MAX_TEXT = 1_000_000  # characters: GitLab's limit on an issue's description and a note's body
Answer = tuple[int, Any, dict[str, str]]


def too_long(method: str, data: dict[str, Any]) -> Answer | None:
    """GitLab's 400 for a write whose description or body is over its limit; None otherwise."""
    if method not in ("POST", "PUT"):
        return None
    for field in ("description", "body"):
        value = data.get(field)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            return 400, {"message": {field: [f"is too long (maximum is {MAX_TEXT} characters)"]}}, {}
    return None
