"""`incident-bot paging --simulate <severity>`: what a page of that severity would do now, level by level.

Pure: the rules and a time in, lines out. Rotations are resolved at that time; a role is "whoever holds <role>"
(an incident staffs it; until then its rotation's on-call, shown too). Each person's contacts are listed as the
page would use them; a person with none is reached by the mention in the issue only.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import UsageError
from ..rules import RuleSet
from ..rules.paging import PageOn, Policy, split

MAX_SEVERITY_TEXT = 40


def severity_of(rules: RuleSet, text: str) -> int:
    """The severity named by `text` (`1`, `severity::1` or its name, `critical`); UsageError naming the choices."""
    given = text.strip()[:MAX_SEVERITY_TEXT]
    for level, severity in rules.severities.items():
        if given.lower() in (str(level), severity.label.lower(), severity.name.lower()):
            return level
    known = ", ".join(f"{level} ({s.name})" for level, s in sorted(rules.severities.items()))
    raise UsageError(
        f"incident-bot paging: severity must be one of {known or 'none (the rules define none)'}, got {given!r}"
    )


def _contacts(rules: RuleSet, person: str) -> str:
    shown = []
    for contact in rules.paging.contacts.get(person, ()):
        kind, name = split(contact)
        channel = rules.channels.get(name) if kind == "channel" else None
        shown.append(f"e-mail {name}" if kind == "email" else f"channel {name} ({channel.kind if channel else '?'})")
    return ", ".join(shown) or "no contact in the rules: the mention in the issue only"


def _target(rules: RuleSet, target: str, now: datetime, paged: set[str]) -> str:
    """One target of a level, resolved now, with how each person is reached (`paged`: already paged in this run)."""
    kind, name = split(target)
    if kind == "channel":
        channel = rules.channels.get(name)
        return f"channel {name} ({channel.kind if channel else 'not declared'})"
    rotation = rules.rotations.get(name) if kind == "rotation" else None
    role = rules.roles.get(name) if kind == "role" else None
    if role is not None:
        rotation = rules.rotations.get(role.rotation)
    person = rotation.on_call(now) if rotation else None
    if person is None:
        return (
            f"rotation {name}: nobody on call now"
            if kind == "rotation"
            else f"whoever holds {name} (nobody on call for it now)"
        )
    how = "already paged in this run: not paged again" if person in paged else f"via {_contacts(rules, person)}"
    paged.add(person)
    if kind == "rotation":
        return f"@{person} (on call in rotation {name} now), {how}"
    where = rotation.name if rotation else "?"
    return f"whoever holds {name} (until staffed: @{person}, on call in rotation {where} now), {how}"


def simulate_paging(rules: RuleSet, text: str, now: datetime) -> list[str]:
    """The lines `paging --simulate` prints for a severity given as `text`, rotations resolved at `now`."""
    if not rules.paging.enabled:
        raise UsageError(
            "incident-bot paging: the rules have no paging policies (rules/paging.yml); nothing to simulate"
        )
    level = severity_of(rules, text)
    trigger = rules.paging.trigger(level)
    name = rules.severities[level].name
    if trigger is None:
        return [f"Severity {level} ({name}) starts no page: no page_on entry names it."]
    policy = rules.paging.policies[trigger.policy]
    lines = [f"Severity {level} ({name}) pages with policy {policy.name!r} (at {now:%Y-%m-%d %H:%M} UTC):"]
    return lines + _steps(rules, policy, trigger, now)


def _steps(rules: RuleSet, policy: Policy, trigger: PageOn, now: datetime) -> list[str]:
    lines: list[str] = []
    count, after = len(policy.levels), 0.0
    paged: set[str] = set()  # the people paged in this run of the levels
    for step in range(policy.steps):
        if step % count == 0:
            paged.clear()
        level = policy.level(step)
        targets = tuple(f"role:{r}" for r in trigger.roles) if step % count == 0 and trigger.roles else level.notify
        run = f", run {step // count + 1} of {policy.repeat + 1}" if policy.repeat else ""
        when = "at once" if step == 0 else f"after {after:g} min unacknowledged"
        lines.append(
            f"  level {step % count + 1} of {count}{run}, {when} (acknowledge within {level.ack_within_minutes:g} min):"
        )
        lines += [f"    - {_target(rules, target, now, paged)}" for target in targets]
        after += level.ack_within_minutes
    told = ", ".join(c for c in rules.settings.broadcast_channels if c in rules.channels)
    lines.append(
        f"  after {after:g} min unacknowledged: nobody acknowledged; told {told or 'no channel (none configured)'}"
    )
    return lines
