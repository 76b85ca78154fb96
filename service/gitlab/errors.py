"""The one error hierarchy of every GitLab call, and what an unreadable answer raises.

`TransientGitLabError` (5xx, 429, no answer): a job is retried. `PermanentGitLabError` (any other 4xx):
retrying cannot help, so a delivery job fails without retry. Both say which call failed (`what`), GitLab's
status (None: no answer) and why; `UnexpectedAnswer` is an answer the bot cannot read (asking again gets
the same answer), and names the answer's shape, never its values.
"""

from __future__ import annotations

from typing import Any

SHAPE_KEYS = 40  # keys described per object: enough to see what GitLab sent, bounded for a log line


class GitLabError(Exception):
    """GitLab refused a call or could not be reached; `status` is the HTTP status, or None when unreachable."""

    def __init__(self, what: str, status: int | None, detail: str):
        super().__init__(f"{what}: {detail}" if what else detail)
        self.what = what
        self.status = status
        self.detail = detail

    @property
    def unreachable(self) -> bool:
        """True when GitLab did not answer at all."""
        return self.status is None


class TransientGitLabError(GitLabError):
    """GitLab did not answer usefully (5xx, 429, timeout); the job is retried."""


class PermanentGitLabError(GitLabError):
    """GitLab refused the call for good (4xx other than 429); retrying will not help."""


def error_for(what: str, status: int | None, detail: str) -> GitLabError:
    """The error of a failed call: permanent for a 4xx other than 429, else transient."""
    if status is not None and 400 <= status < 500 and status != 429:
        return PermanentGitLabError(what, status, detail)
    return TransientGitLabError(what, status, detail)


class UnexpectedAnswer(ValueError):
    """A GitLab answer the bot cannot read (a field missing or of another type): asking again gets the same answer.

    Its message names the field and the answer's shape (keys and types, never a value: titles may be confidential).
    """

    def __init__(self, what: str, problem: str, data: Any):
        self.shape = shape(data)
        super().__init__(f"unexpected GitLab answer for {what}: {problem}; its shape: {self.shape}")


def shape(value: Any, depth: int = 3) -> str:
    """What a JSON value looks like, without any of its values: `{'iid': int, 'labels': [str]}`."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        if depth <= 0:
            return "{...}"
        items = [f"{str(k)[:40]!r}: {shape(v, depth - 1)}" for k, v in list(value.items())[:SHAPE_KEYS]]
        more = ", ..." if len(value) > SHAPE_KEYS else ""
        return "{" + ", ".join(items) + more + "}"
    if isinstance(value, list):
        return "[]" if not value else f"[{shape(value[0], depth - 1)}]" if depth > 0 else "[...]"
    return type(value).__name__
