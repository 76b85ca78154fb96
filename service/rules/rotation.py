"""On-call rotations: who holds a role at a given moment (hand-over time, period, overrides)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

# The shipped rotations name no one: `REPLACE-ME-...` members (ending in `.git`, which GitLab refuses in a
# username, so a forgotten one can never be a real person) that check-rules flags and setup refuses.
PLACEHOLDER_PREFIX = "replace-me"


def is_placeholder(username: str) -> bool:
    """A member still to be replaced by a real person's username."""
    return username.lower().startswith(PLACEHOLDER_PREFIX)


@dataclass(frozen=True)
class Override:
    """`user` is on call from `start` until `end`, whatever the rotation says."""

    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rotation:
    """Members take turns of `period_days`, handing over at `handover` (UTC) from `start`."""

    name: str
    members: tuple[str, ...]
    start: date
    handover: time
    period_days: int = 7
    overrides: tuple[Override, ...] = ()
    where: str = field(default="", compare=False)  # file:line of its members, for messages

    def placeholders(self) -> list[str]:
        """The members (and overrides) still to be replaced by real usernames."""
        names = [*self.members, *(o.user for o in self.overrides)]
        return [n for n in dict.fromkeys(names) if is_placeholder(n)]

    def on_call(self, at: datetime) -> str | None:
        """The member on call at `at`; an override wins; None when nobody is listed."""
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        for override in self.overrides:
            if override.start <= at < override.end:
                return override.user
        if not self.members:
            return None
        origin = datetime.combine(self.start, self.handover, tzinfo=UTC)
        turns = (at - origin) // timedelta(days=self.period_days)
        return self.members[int(turns) % len(self.members)]


def placeholder_warnings(rotations: Iterable[Rotation]) -> list[str]:
    """One line per rotation that still holds placeholders: file:line, which, and how to fix it."""
    return [
        f"{r.where or r.name}: warning: rotation {r.name!r} holds placeholders ({', '.join(r.placeholders())}): "
        "replace them with your people's GitLab usernames before going live"
        for r in rotations
        if r.placeholders()
    ]
