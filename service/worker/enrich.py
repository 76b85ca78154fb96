"""The enrichers: one ordered list (`ENRICHERS`) that fills a plan's deferred parts, under one failure policy.

The planner is pure, so whatever a delivery's text needs from I/O is a typed part in the plan
(`service.parts`). Each enricher fills one kind of part, before or after the issue write: after it,
so the first write never waits for the index, and the links have the issues that write opened.
The order and the policy (what a part shows when the index is missing or cannot be read, logged
once) are stated in docs/architecture.md, "One plan tells the whole story"; `Enrichment._texts` is
the policy. The executor renders a comment only once every part is filled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..parts import (
    CauseNote,
    DrillLink,
    OpenFollowUpsPart,
    Part,
    ReviewLink,
    ScorecardPart,
    SimilarPart,
    SuspectsPart,
    TimelinePart,
    TrainingNote,
)
from . import causes, corrective_memory, scorecard, similar, suspects, timeline, training
from .index import index_guard

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..plan import Plan
    from ..store import Store
    from .delivery import Delivery
    from .executor import Applied
    from .index import DeliveryIndex


class Stage(Enum):
    BEFORE_WRITE = "before the issue write"
    AFTER_WRITE = "after the issue write"


@dataclass(frozen=True)
class Sources:
    """What an enricher reads: the delivery, the incident before the plan, the plan, the index, what was written."""

    delivery: Delivery
    state: IncidentState
    plan: Plan
    payload: Mapping[str, Any]
    store: Store | None  # None for an enricher that reads no index
    written: Applied | None  # None before the write


@dataclass(frozen=True)
class IndexTexts:
    """What an index reader's parts show when it cannot answer, and the warning logged when a read fails."""

    failure: str
    unavailable: str
    no_index: str


# An enricher's text for each of the parts it was given; None: the index could not say (the policy's text).
Fill = Callable[[Sources, list[Any]], Mapping[Part, str | None]]


@dataclass(frozen=True)
class Enricher:
    kind: type[Part]
    stage: Stage
    fill: Fill
    index: IndexTexts | None = None  # None: it reads no index


def _review_link(sources: Sources, parts: list[ReviewLink]) -> dict[Part, str | None]:
    written = sources.written
    if written is not None and written.review is not None:
        text = written.review[1] or f"#{written.review[0]}"
    else:
        text = f"not possible ({written.review_error if written else 'no write'}); please open one by hand"
    return dict.fromkeys(parts, text)


def _drill_link(sources: Sources, parts: list[DrillLink]) -> dict[Part, str | None]:
    written = sources.written
    if written is not None and written.drill is not None:
        text = written.drill[1] or f"#{written.drill[0]}"
    else:
        text = f"not possible ({written.drill_error if written else 'no write'})"
    return dict.fromkeys(parts, text)


BEFORE, AFTER = Stage.BEFORE_WRITE, Stage.AFTER_WRITE
ENRICHERS: tuple[Enricher, ...] = (
    Enricher(TimelinePart, BEFORE, timeline.fill, IndexTexts(timeline.FAILURE, timeline.UNAVAILABLE, timeline.NONE)),
    Enricher(
        ScorecardPart, BEFORE, scorecard.fill, IndexTexts(scorecard.FAILURE, scorecard.UNAVAILABLE, scorecard.NONE)
    ),
    Enricher(ReviewLink, AFTER, _review_link),
    Enricher(DrillLink, AFTER, _drill_link),
    Enricher(SimilarPart, AFTER, similar.fill, IndexTexts(similar.FAILURE, similar.UNAVAILABLE, similar.NONE)),
    Enricher(SuspectsPart, AFTER, suspects.fill, IndexTexts(suspects.FAILURE, suspects.UNAVAILABLE, suspects.NONE)),
    Enricher(CauseNote, AFTER, causes.confirm),  # what the executor recorded (worker/causes.py), or why not
    Enricher(OpenFollowUpsPart, AFTER, corrective_memory.fill, IndexTexts(corrective_memory.FAILURE, "", "")),
    Enricher(TrainingNote, AFTER, training.fill, IndexTexts(training.FAILURE, "", "")),
)


class Enrichment:
    """One delivery's enrichers: `before_write` and `after_write` fill the plan's parts of their stage, in order.

    The index is opened at the first part that needs it (a plan with none never touches it), and once a
    read fails the rest of this delivery's parts show their `unavailable` text without asking again.
    """

    def __init__(
        self,
        delivery: Delivery,
        state: IncidentState,
        index: DeliveryIndex | None = None,
        payload: Mapping[str, Any] | None = None,
        enrichers: tuple[Enricher, ...] | None = None,  # None: ENRICHERS as they are when the delivery runs
    ):
        self.delivery, self.state, self.index, self.payload = delivery, state, index, payload or {}
        self.enrichers = ENRICHERS if enrichers is None else enrichers
        self._store: Store | None = None
        self._down = False

    def before_write(self, plan: Plan) -> Plan:
        return self._run(plan, BEFORE, None)

    def after_write(self, plan: Plan, written: Applied) -> Plan:
        return self._run(plan, AFTER, written)

    def _run(self, plan: Plan, stage: Stage, written: Applied | None) -> Plan:
        for enricher in self.enrichers:
            parts = list(dict.fromkeys(plan.unfilled(enricher.kind))) if enricher.stage is stage else []
            if parts:
                sources = Sources(self.delivery, self.state, plan, self.payload, None, written)
                plan = plan.fill(self._texts(enricher, sources, parts))
        return plan

    def _texts(self, enricher: Enricher, sources: Sources, parts: list[Part]) -> dict[Part, str]:
        """Each part's text under the one policy."""
        texts = enricher.index
        if texts is None:  # the links: what the executor opened, or why not
            filled = enricher.fill(sources, parts)
            return {p: filled.get(p) or "" for p in parts}
        if self.index is None:
            return {p: "" if p.quiet else texts.no_index for p in parts}
        got: Mapping[Part, str | None] = {}
        store = self._open()
        if store is not None:
            with index_guard(self.delivery.log, texts.failure) as read:
                got = enricher.fill(replace(sources, store=store), parts)
            self._down = read.failed
        return {p: _shown(got.get(p), p, texts.unavailable) for p in parts}

    def _open(self) -> Store | None:
        """The index's store, opened once per delivery; None once it failed (logged where it failed)."""
        if self._store is None and not self._down and self.index is not None:
            d = self.delivery
            self._store = self.index.store(d.rules, d.bot_username)
            self._down = self._store is None
        return None if self._down else self._store


def _shown(text: str | None, part: Part, unavailable: str) -> str:
    if text is not None:
        return text
    return "" if part.quiet else unavailable
