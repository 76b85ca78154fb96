"""Drills in the plan: `@bot drill <scenario>` opens one, a drill's declaration schedules its injects, and
every notification of a drill goes to the training channel only (`route_drill_notifications`, the last step).

The drill issue itself is opened by the worker (`OpenDrill`); its reply names the drill and links it
with a `DrillLink` part, which the worker fills once the issue exists.
"""

from __future__ import annotations

import logging

from ..parts import DrillLink, Piece
from ..rules.drills import drill_issue, is_drill, scenario_of
from ..text import mention
from .draft import POST, Draft

log = logging.getLogger("incident_bot.plan")

DRILL_RULE = "command:drill"
INJECTS_RULE = "drill-injects"
ROUTE_RULE = "drill-training-channel"


def drill_command(d: Draft, rest: str) -> str | tuple[Piece, ...]:
    """`@bot drill <scenario>`: open a drill issue of that scenario (any issue of the project may ask)."""
    name = rest.split()[0].lower() if rest.split() else ""
    drill = d.rules.drills.get(name)
    if drill is None:
        known = ", ".join(f"`{n}`" for n in sorted(d.rules.drills)) or "none (no rules/drills/*.yml)"
        return f"Usage: `@{d.bot} drill <scenario>` with a scenario among {known}."
    issue = drill_issue(drill, d.rules, requested_by=d.event.actor.username, request=d.event.delivery_id)
    d.open_drill(drill.name, issue.title, issue.description, issue.labels, DRILL_RULE)
    if d.event.is_incident:
        d.timeline(f"drill `{drill.name}` opened by {mention(d.event.actor.username)}")
    training = f"`{d.rules.training_channel}`" if d.rules.training_channel in d.rules.channels else "no channel"
    return (
        f"Drill **{drill.title}** (`{drill.name}`) opened by {mention(d.event.actor.username)}: ",
        DrillLink(),
        f"\n\nIt runs the whole process for real; its notifications go to {training} only.",
    )


def drill_injects(d: Draft) -> None:
    """A drill's declaration: schedule its scenario's injects (the worker posts each when due, if still a drill)."""
    if d.before("declared") or d.closing or not d.event.is_incident or not is_drill(d.labels, d.rules):
        return
    drill = d.rules.drills.get(scenario_of(d.issue.description or d.event.description) or "")
    if drill is None or not drill.injects:
        return
    d.schedule_injects(drill.name, tuple((i.after_minutes, i.text) for i in drill.injects), INJECTS_RULE)
    training = d.rules.training_channel
    told = f"`{training}` only" if training in d.rules.channels else "no channel (none is declared for drills)"
    said = f"the bot will post {len(drill.injects)} new developments here as it unfolds; notifications go to {told}."
    d.post(POST, f"**Drill** `{drill.name}`: {said}", INJECTS_RULE)


def drill_involved(d: Draft) -> bool:
    """The drill label before or after this delivery: in the plan, in GitLab now, or removed by this very event
    (`changes.labels.previous`; GitLab, read after the event, no longer has it)."""
    return is_drill(d.labels | d.state.labels | d.event.labels | d.event.labels_removed, d.rules)


def route_drill_notifications(d: Draft) -> None:
    """Last step: a drill (the drill label before or after this delivery) tells the training channel only."""
    if not d.notifications or not drill_involved(d):
        return
    training = d.rules.training_channel
    if training not in d.rules.channels:
        dropped = ", ".join(sorted({f"{c}/{m}" for c, m, _, _ in d.notifications}))
        log.warning(
            "drill %s#%s: notifications dropped (%s): no `%s` channel is declared in the rules",
            d.event.project_id,
            d.event.iid,
            dropped,
            training,
        )
        d.route_notifications(None, ROUTE_RULE)
        return
    d.route_notifications(training, ROUTE_RULE)
