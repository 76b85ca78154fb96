"""The handbook's drills page: how to run a drill, and each scenario as its participants may read it.

What a scenario expects of the participants (the severity to set, the phases to reach in time) and
its injects are left out: they are the drill's answers and surprises, kept in `rules/drills/`.
"""

from __future__ import annotations

from service.rules import RuleSet

from .pages import Block, Page, h, p, ul

DRILLS = "drills"


def drills_page(rules: RuleSet, bot: str) -> Page:
    """How a drill is opened and run, and one section per scenario (`drills#<name>`)."""
    training = rules.training_channel
    told = f"`{training}`" if training in rules.channels else "no channel (none named `" + training + "` is declared)"
    blocks: list[Block] = [
        p(
            "A drill is a practice incident: the whole process runs for real (staffing, checklists, reminders, "
            f"commands), its issue carries the labels `{rules.incident_label}` and `{rules.drill_label}`, every "
            f"notification goes to {told} only, and the reports leave it out."
        ),
        h("Running a drill", "running"),
        ul(
            (
                f"Comment `@{bot} drill <scenario>` on any issue of the project (Developer access or more), "
                "or run `incident-bot drill --project GROUP/PROJECT <scenario>`.",
                "The bot opens the drill's issue and declares it; respond as you would for real.",
                "As the drill unfolds the bot posts new developments (injects) in the issue.",
                "Close the issue to end the drill: the bot posts a scorecard.",
            )
        ),
        h("Scenarios", "scenarios"),
    ]
    if not rules.drills:
        blocks.append(p("No scenario is defined yet: add one in `rules/drills/`."))
    for drill in rules.drills.values():
        blocks.append(h(f"{drill.title} (`{drill.name}`)", drill.name))
        blocks.append(p(drill.description))
        facts = [f"Open it with `@{bot} drill {drill.name}`."]
        if drill.area and drill.area in rules.areas:
            area = rules.areas[drill.area]
            facts.append(f"Functional area: [{area.title}](page:area-{area.name}).")
        if drill.category:
            facts.append(f"Category `{drill.category}`.")
        facts.append(f"{len(drill.injects)} developments are posted as it unfolds.")
        blocks.append(ul(facts))
    return Page(DRILLS, "Drills", tuple(blocks))
