"""Comment commands addressed to the bot: help, handoff, update, page, phase, severity, timeline, similar, drill."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from ..parts import Piece, SimilarPart, TimelinePart
from ..text import is_username, mention, neutralise, neutralise_line
from .causes import cause_command, suspects_command
from .corrective import follow_up_command
from .draft import REPLY, Draft
from .drills import drill_command, drill_involved
from .paging import ack_command, begin
from .silences import silence_command, unsilence_command

HELP = """**incident-bot commands** (start a comment with `@{bot}`):

| command | what it does |
| --- | --- |
| `@{bot} help` | this list |
| `@{bot} severity <n>` | set the severity ({levels}) |
| `@{bot} phase <name>` | move to a phase ({phases}) |
| `@{bot} handoff <role> @user` | hand a role over ({roles}) |
| `@{bot} update <text>` | broadcast a status update and record it here |
| `@{bot} page <team>` | engage a team's on-call ({teams}) |
| `@{bot} ack` | acknowledge the page you were paged by: its escalation stops |
| `@{bot} timeline` | post this incident's timeline and its times against the targets |
| `@{bot} similar` | list up to three similar past incidents from the index |
| `@{bot} suspects` | list the recent changes that may have caused this incident |
| `@{bot} cause <ref>` | record the cause: `!123`, `group/project!123`, a deployment's id or job URL, a flag name |
| `@{bot} cause none` | clear the recorded cause |
| `@{bot} drill <scenario>` | open a practice incident, on any issue of the project ({drills}) |
| `@{bot} follow-up <title> [@owner] [due YYYY-MM-DD]` | open a follow-up (corrective action), here or in the review |
| `@{bot} follow-up #123` | make an existing issue (`#123` or `group/project#123`) a follow-up |
| `@{bot} silence <duration>` | on an incident opened from an alert: silence its group in Alertmanager (e.g. `2h`) |
| `@{bot} unsilence` | expire the silences the bot made for this incident (closing it does too) |

Only project members with at least Developer access can command the bot."""
REFUSED = (
    "Sorry {actor}, only project members with at least Developer access can command the bot. "
    "Ask the Incident Manager or the Engineer On Call to do it for you."
)
RULE = "command:{}"
REFUSED_RULE = RULE.format("refused")  # the worker answers one person's refusals at most once an hour
TIMELINE_RULE = RULE.format("timeline")
SIMILAR_RULE = RULE.format("similar")


def help_text(d: Draft) -> str:
    rules = d.rules
    return HELP.format(
        bot=d.bot,
        levels=", ".join(str(level) for level in sorted(rules.severities)),
        phases=", ".join(p.name for p in rules.phases),
        roles=", ".join(rules.roles),
        teams=", ".join(rules.teams) or "none configured",
        drills=", ".join(rules.drills) or "none configured",
    )


def _broadcast(d: Draft) -> list[str]:
    names = list(d.rules.settings.broadcast_channels)
    if drill_involved(d):  # a drill tells the training channel only (and says so)
        names = [d.rules.training_channel]
    return [n for n in names if n in d.rules.channels]


def _severity(d: Draft, rest: str) -> str:
    try:
        level = int(rest.split()[0].removeprefix("S").removeprefix("s"))
    except (IndexError, ValueError):
        level = 0
    if level not in d.rules.severities:
        return f"`severity` takes one of {', '.join(map(str, sorted(d.rules.severities)))}."
    d.set_severity(level, RULE.format("severity"))
    return f"Severity set to {level} ({d.rules.severities[level].name}) by {mention(d.event.actor.username)}."


def _phase(d: Draft, rest: str) -> str:
    name = rest.split()[0].lower() if rest.split() else ""
    phase = d.rules.phase(name)
    if phase is None:
        return f"`phase` takes one of {', '.join(p.name for p in d.rules.phases)}."
    d.set_phase(phase.name, RULE.format("phase"))
    return f"Moved to **{phase.title}** by {mention(d.event.actor.username)}."


def _handoff(d: Draft, rest: str) -> str:
    parts = rest.split()
    usage = f"Usage: `@{d.bot} handoff <role> @user` with a role among {', '.join(d.rules.roles)}."
    if len(parts) != 2 or parts[0] not in d.rules.roles:
        return usage
    user, role = parts[1].removeprefix("@"), d.rules.roles[parts[0]]
    if not is_username(user):
        return f"{usage} ({neutralise_line(parts[1])} is not a GitLab username.)"
    staffed = dict(d.memory.get("staffed", {}))
    previous = staffed.get(role.name)
    if previous == user:
        return f"{mention(user)} already holds **{role.title}**."
    staffed[role.name] = user
    d.remember("staffed", staffed)
    d.assign(user, RULE.format("handoff"))
    if previous:
        d.unassign(previous, RULE.format("handoff"))
    by = mention(d.event.actor.username)
    d.timeline(
        f"{role.title} handed off from {mention(previous) if previous else '@nobody'} to {mention(user)} by {by}"
    )
    for channel in _broadcast(d):
        d.notify(channel, "handoff", RULE.format("handoff"))
    return f"**{role.title}** handed off from {mention(previous) if previous else 'nobody'} to {mention(user)}."


def _update(d: Draft, rest: str) -> str:
    if not rest:
        return f"Usage: `@{d.bot} update <text>`."
    channels = _broadcast(d)
    for channel in channels:
        d.notify(channel, "status_update", RULE.format("update"), text=rest)
    d.timeline(f"status update by {mention(d.event.actor.username)}")
    quoted = "\n".join(f"> {line}" for line in neutralise(rest).splitlines())
    told = ", ".join(f"`{c}`" for c in channels) or "no channel (none configured)"
    return f"Status update recorded and sent to {told}:\n\n{quoted}"


def _page(d: Draft, rest: str) -> str:
    name = rest.split()[0].lower() if rest.split() else ""
    team = d.rules.teams.get(name)
    if team is None:
        return f"`page` takes one of {', '.join(d.rules.teams) or 'no teams (none configured)'}."
    user = d.rules.rotations[team.rotation].on_call(d.now)
    if user is None:
        return f"Nobody is on call for **{team.title}** (rotation `{team.rotation}`); reach them another way."
    d.timeline(f"{team.title} paged: {mention(user)} by {mention(d.event.actor.username)}")
    policy = d.rules.paging.team_policy(team.name)
    if policy is not None and not drill_involved(d):  # rules/paging.yml: a page that is acknowledged or escalates
        return f"Paging **{team.title}**: " + begin(d, policy, f"team:{team.name}", (f"rotation:{team.rotation}",))
    for channel in [team.channel] if team.channel else _broadcast(d):
        d.notify(channel, "page", RULE.format("page"), text=f"{team.title} paged: {user}")
    return f"Paging **{team.title}**: {mention(user)}, you are needed on this incident."


def _timeline(d: Draft, rest: str) -> tuple[Piece, ...]:
    # Planning reads nothing: the worker's enricher renders the timeline from the index into the part.
    return ("**Timeline** of this incident:\n\n", TimelinePart())


def _similar(d: Draft, rest: str) -> tuple[Piece, ...]:
    return ("**Similar past incidents**:\n\n", SimilarPart())


Reply: TypeAlias = Callable[[Draft, str], str | tuple[Piece, ...]]  # a reply: text, or text and parts
COMMANDS: dict[str, Reply] = {
    "severity": _severity,
    "phase": _phase,
    "handoff": _handoff,
    "update": _update,
    "page": _page,
    "ack": ack_command,
    "timeline": _timeline,
    "similar": _similar,
    "suspects": suspects_command,
    "cause": cause_command,
    "drill": drill_command,
    "follow-up": follow_up_command,
    "silence": silence_command,
    "unsilence": unsilence_command,
}
# On an issue that is no incident the bot answers only these (the edge admits only their comments there).
OUTSIDE_INCIDENTS: dict[str, Reply] = {
    "drill": drill_command,
    "follow-up": follow_up_command,
}


def run_commands(d: Draft) -> None:
    """Carry out a command in a new comment, or explain why not; the reply joins the delivery's one note."""
    _dispatch(d, COMMANDS)


def run_drill_request(d: Draft) -> None:
    """The one step for a comment on an issue that is no incident: `drill`, or `follow-up` in a review; else nothing."""
    parsed = d.event.command(d.bot)
    if parsed is not None and parsed[0] in OUTSIDE_INCIDENTS:
        _dispatch(d, OUTSIDE_INCIDENTS)


def _dispatch(d: Draft, commands: dict[str, Reply]) -> None:
    e = d.event
    parsed = e.command(d.bot)
    if parsed is None:
        return
    command, rest = parsed
    minimum = d.rules.settings.command_min_access
    if (d.access or 0) < minimum:
        d.post(REPLY, REFUSED.format(actor=mention(e.actor.username)), REFUSED_RULE)
        return
    handler = commands.get(command)
    if handler is None:
        prefix = f"I don't know `{command}`.\n\n" if command not in ("", "help") else ""
        d.post(REPLY, prefix + help_text(d), RULE.format("help"))
        return
    d.post(REPLY, handler(d, rest), RULE.format(command))
