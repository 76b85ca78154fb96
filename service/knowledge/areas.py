"""The handbook's page for each functional area: how an incident is recognised as its own and what it adds."""

from __future__ import annotations

from typing import Any

from service.rules import RuleSet

from .pages import Block, Page, h, p, table, ul


def area_pages(rules: RuleSet, areas: tuple[Any, ...]) -> list[Page]:
    """One page per area (`area-<name>`), in the order the rules list them."""
    return [area_page(rules, area) for area in areas]


def area_page(rules: RuleSet, area: Any) -> Page:
    """What the area adds to the common process, in the handbook's words."""
    match = area.match
    recognised = [
        *(f"category `{c}`" for c in match.categories),
        *(f"label `{label}`" for label in match.labels),
        *(f"project or group `{path}`" for path in match.paths),
        *(f"title mentions “{term}”" for term in match.terms),
    ]
    blocks: list[Block] = [p(area.description or f"{area.title}'s requirements, added to the common process.")]
    blocks += [h("How an incident is recognised as this area's", "recognised"), ul(recognised or ["never by itself"])]
    staffing = [f"{rules.roles[r].title} (`{r}`)" for r in area.roles if r in rules.roles]
    blocks += [h("Staffing and channels", "staffing")]
    blocks.append(ul(staffing or ["the common roles only"]))
    blocks.append(p("Told: " + (", ".join(f"`{c}`" for c in area.channels) or "the common channels only") + "."))
    if area.severity_examples:
        blocks.append(h("Severity in this area", "severity"))
        blocks.append(
            table(
                ("Severity", "Example"), ((f"{level}", text) for level, text in sorted(area.severity_examples.items()))
            )
        )
    for phase in rules.phases:
        extra = area.checklists.get(phase.name, ())
        if extra:
            blocks += [h(f"{phase.title}: extra checklist", phase.name), Block("tasks", items=tuple(extra))]
    if area.handoff:
        blocks += [h("Hand-off", "handoff"), ul(area.handoff)]
    if area.reporting:
        blocks += [h("Management reporting", "reporting"), ul(area.reporting)]
    return Page(f"area-{area.name}", f"Area: {area.title}", tuple(blocks))
