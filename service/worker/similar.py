"""The similar-incidents enricher: past incidents like this one, for `@bot similar` and a declaration's section.

Planning is pure, so the `similar` command's reply holds a `SimilarPart`, and a declaration (the
plan remembers `declared` for the first time) a quiet one in a section of its own. This enricher
runs after the issue write (`worker.enrich.ENRICHERS`): its labels and assignees are written
first, so a declaration's first write never waits for the index. Only those plans pay for reading
the index (the store's query module is imported then, not with the job).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..parts import SimilarPart
from ..rules.areas import sharing
from ..text import neutralise_line, ref_text, safe_url

if TYPE_CHECKING:
    from ..rules import RuleSet
    from ..store.similar import Candidate, Similar
    from .enrich import Sources

FAILURE = "incident index not read for similar incidents"
NONE_FOUND = "*No similar past incidents in the index (same category or area, and words in common).*"
UNAVAILABLE = "*The incident index cannot be read right now; try again later.*"
NONE = "*This worker keeps no incident index, so there are no past incidents to compare.*"
HEADING = "**Similar past incidents** (from the incident index):\n\n"


def fill(sources: Sources, parts: list[SimilarPart]) -> dict[Any, str | None]:
    """The list in the `similar` reply (or that there is none), and a declaration's section when there are some."""
    found = _find(sources)
    listed = render(found)
    return {p: (listed or NONE_FOUND) if p.reply else (HEADING + listed if listed else "") for p in parts}


def render(found: list[Similar]) -> str:
    """One line per incident: link, title (made inert), severity, when resolved, its review, why it is alike.

    Every value from the index goes through service.text: a link only to a plain http(s) URL.
    """
    lines = []
    for s in found:
        row = s.row
        ref = f"{row.project_path}#{row.iid}"
        title = neutralise_line(row.title)
        status = f"resolved {row.resolved_at:%Y-%m-%d}" if row.resolved_at else "still open"
        shown = row.review_url if safe_url(row.review_url) else neutralise_line(row.review_url or "")
        review = f", review: {shown}" if row.review_url else ""
        why = ", ".join([*s.same, "words: " + ", ".join(s.shared)])
        level = f"severity {row.highest_severity or row.severity}" if (row.highest_severity or row.severity) else ""
        lines.append(
            f"- {ref_text(ref, row.url)} {title} ({', '.join(x for x in (level, status) if x)}{review}; {why})"
        )
    return "\n".join(lines)


def _find(sources: Sources) -> list[Similar]:
    """The similar incidents; raises when the index cannot be read."""
    # Imported here: SQLAlchemy loads only for plans that ask for past incidents.
    from ..store.similar import similar

    delivery, issue, store = sources.delivery, sources.state.issue, sources.store
    assert store is not None
    rules, event = delivery.rules, delivery.event
    labels = sources.plan.settled(sources.state).labels  # as the plan leaves them (a category it inferred)
    category = rules.category_of(labels)
    areas = frozenset(a.name for a, _ in rules.areas_for(category, labels, event.project_path or "", issue.title))
    return similar(
        store,
        project_id=event.project_id,
        iid=event.iid,
        text=f"{issue.title} {issue.description}",
        category=category,
        areas=areas,
        # The issue as GitLab has it now (a delivery's `confidential` is also set by an internal note,
        # while the bot's reply is an ordinary comment).
        confidential=issue.confidential,
        projects=sharing(rules, event.project_path or ""),
        area_of=_past_areas.of(rules),
    )


class PastAreas:
    """The functional areas of past incidents, worked out once per process and rules, not at every declaration.

    A past incident's areas come from the rules' patterns (category, project path, title terms): a
    regular-expression search per area and term, which over two thousand candidates would cost more
    than everything else in the lookup.
    """

    LIMIT = 20_000  # entries kept before starting afresh

    def __init__(self) -> None:
        self._rules: RuleSet | None = None
        self._known: dict[tuple[str | None, str, str], frozenset[str]] = {}

    def of(self, rules: RuleSet) -> Callable[[Candidate], frozenset[str]]:
        """The `area_of` of these rules (what was known under other rules is forgotten)."""
        if rules is not self._rules or len(self._known) > self.LIMIT:
            self._rules, self._known = rules, {}
        known = self._known

        def area_of(row: Candidate) -> frozenset[str]:
            key = (row.category, row.project_path, row.title)
            found = known.get(key)
            if found is None:
                applying = rules.areas_for(row.category, frozenset(), row.project_path, row.title)
                found = known[key] = frozenset(area.name for area, _ in applying)
            return found

        return area_of


_past_areas = PastAreas()
