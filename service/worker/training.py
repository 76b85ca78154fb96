"""The training-note enricher: staffing someone who has not practised the role lately says so.

A role may set `require_training_days: N`. When a plan staffs a person into such a role (the
rules' staffing or a hand-off), the planner puts a quiet `TrainingNote` part under the section
that staffs them (`handlers.deferred`). This enricher (last in `worker.enrich.ENRICHERS`, after
the issue write) reads the training record: with no drill of theirs in that role within N days,
the part becomes a visible note. It is a note, never a refusal: a real incident still gets its
on-call person. No index, or one that cannot be read, means no note, never a failed delivery. A
drill gets no note: it is the practice. The store's modules are imported only by such plans.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..parts import TrainingNote
from ..text import mention, neutralise_line

if TYPE_CHECKING:
    from ..rules import RuleSet
    from .enrich import Sources

FAILURE = "training record not read for the staffing note"
NOTE = "*Training*: {who} has not practised {role} in a drill in the last {days} days (last: {last})."


def fill(sources: Sources, parts: list[TrainingNote]) -> dict[Any, str | None]:
    """A note for each person not practised in the role within its days, else nothing; raises when unreadable."""
    from ..store.training import last_practised  # as the module says: only plans staffing such a role load it

    delivery, store = sources.delivery, sources.store
    assert store is not None
    now, texts = delivery.clock(), dict[Any, str | None]()
    for part in parts:
        last = last_practised(store.engine, part.user, part.role)
        recent = last is not None and last >= now - timedelta(days=part.days)
        texts[part] = "" if recent else "\n\n" + NOTE.format(**_words(delivery.rules, part, last))
    return texts


def _words(rules: RuleSet, part: TrainingNote, last: datetime | None) -> dict[str, str]:
    return {
        "who": mention(part.user),
        "role": f"**{neutralise_line(rules.roles[part.role].title)}**",
        "days": str(part.days),
        "last": f"{last:%Y-%m-%d}" if last is not None else "never",
    }
