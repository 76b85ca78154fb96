"""The one human duration format: incident comments, the board, the handbook, reminders and the reports' text.

`45 s`, `12 min`, `3 h 05 min`, `2 d 04 h`: what the timeline and scorecard comments always showed, with seconds
for what is under a minute (the board's ages, a test's fast cadence). Numbers for machines (CSV, JSON) stay minutes.
"""

from __future__ import annotations

import math

MISSING = "—"


def human_duration(minutes: float | None, missing: str = MISSING) -> str:
    """Minutes as `45 s`, `12 min`, `3 h 05 min` (under two days) or `2 d 04 h`; `missing` when there is none."""
    if minutes is None or not math.isfinite(seconds := float(minutes) * 60):
        return missing
    if 0.5 <= seconds < 59.5:
        return f"{round(seconds)} s"
    total = max(round(seconds / 60), 0)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"
