"""Similar past incidents put into a plan's comment: on declaration, and for `@bot similar`.

Planning is pure, so the `similar` command plans a reply holding `SIMILAR_PLACEHOLDER`, and a
declaration (the plan remembers `declared` for the first time) gets a section appended here from
the index. The job hands `with_similar` to the executor as its `finish` step: it runs once the
issue's labels and assignees are written, so a declaration's first write never waits for the
index. Only those plans pay for reading the index (the store's query module is imported then,
not with the job).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..handlers.commands import SIMILAR_PLACEHOLDER, SIMILAR_RULE
from ..plan import Plan, PostNote, Remember
from ..rules.areas import sharing
from ..text import md_link, neutralise_line, safe_url
from .executor import label_change
from .index import index_guard

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..rules import RuleSet
    from ..store.similar import Candidate, Similar
    from .delivery import Delivery
    from .index import DeliveryIndex

RULE = "similar-incidents"
NONE_FOUND = "*No similar past incidents in the index (same category or area, and words in common).*"
UNAVAILABLE = "*The incident index cannot be read right now; try again later.*"
NOT_CONFIGURED = "*This worker keeps no incident index, so there are no past incidents to compare.*"


def with_similar(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> Plan:
    """The plan with similar incidents in the `similar` reply, and appended to a declaration when there are any."""
    replying = any(isinstance(a, PostNote) and a.rule == SIMILAR_RULE for a in plan.actions)
    declaring = not state.memory.get("declared") and any(
        isinstance(a, Remember) and a.key == "declared" and a.value for a in plan.actions
    )
    if not replying and not declaring:
        return plan
    found = _find(plan, delivery, state, index)
    text = NOT_CONFIGURED if index is None else UNAVAILABLE if found is None else render(found) or NONE_FOUND
    actions = [
        replace(a, body=a.body.replace(SIMILAR_PLACEHOLDER, text, 1))
        if isinstance(a, PostNote) and a.rule == SIMILAR_RULE
        else a
        for a in plan.actions
    ]
    if declaring and not replying and found:
        actions.append(PostNote(RULE, "**Similar past incidents** (from the incident index):\n\n" + render(found)))
    return replace(plan, actions=tuple(actions))


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
        lines.append(f"- {md_link(ref, row.url)} {title} ({', '.join(x for x in (level, status) if x)}{review}; {why})")
    return "\n".join(lines)


def _find(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> list[Similar] | None:
    """The similar incidents, [] without an index, None when the index cannot be read."""
    if index is None:
        return []
    # Imported here: SQLAlchemy loads only for plans that ask for past incidents.
    from ..store.similar import similar

    rules, event, issue = delivery.rules, delivery.event, state.issue
    store = index.store(rules, delivery.bot_username)
    if store is None:
        return None
    change = label_change(plan, state.labels)  # the labels as the plan leaves them (a category it inferred)
    labels = (set(state.labels) | set(change.add)) - set(change.remove)
    category = rules.category_of(labels)
    areas = frozenset(a.name for a, _ in rules.areas_for(category, labels, event.project_path or "", issue.title))

    with index_guard(delivery.log, "incident index not read for similar incidents"):  # the comment says so
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
    return None


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
