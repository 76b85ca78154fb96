"""On-call rotations: who holds a role at a given moment (hand-over time, period, overrides)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


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
