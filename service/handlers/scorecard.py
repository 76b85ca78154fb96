"""A drill's scorecard, planned when the drill closes: a section holding a `ScorecardPart` the worker fills.

Planning reads nothing, so the section carries the part; the worker's enricher
(`service.worker.scorecard`) renders the figures from the index into it before the plan is
applied, and records who held which role in the training record once it is.
"""

from __future__ import annotations

from ..parts import ScorecardPart
from ..plan import CloseIssue
from ..rules.drills import is_drill
from .draft import Draft

SCORECARD_RULE = "drill-scorecard"
SCORECARD = 40  # after the phase checklists in the delivery's comment
HEADING = "## Drill scorecard"


def closing_now(d: Draft) -> bool:
    """The issue closes with this delivery: a person closed it, or the plan closes it."""
    e = d.event
    if not e.is_note and e.action == "close":
        return True
    return d.state.issue.state != "closed" and any(isinstance(a, CloseIssue) for a in d.actions)


def scorecard(d: Draft) -> None:
    """A drill closing now gets its scorecard (a real incident gets none)."""
    if is_drill(d.labels, d.rules) and closing_now(d):
        d.post(SCORECARD, (f"{HEADING}\n\n", ScorecardPart()), SCORECARD_RULE)
