"""A drill's scorecard (pure): its times against the scenario and the severity's targets, checklists, cadence.

Definitions (README, "Training record and scorecard"); every time is in minutes from the
drill's start, as the index derives it:

- acknowledge, mitigate, resolve: the documented times (`store.timeline.derive`), against
  the targets of the scenario's expected severity;
- set the expected severity: the first time the incident's severity became that level;
- reach a phase: the first time it entered that phase or a later one (a skipped phase is
  reached by moving past it), against the scenario's `by_minutes`;
- checklists: items ticked of the total over every phase's checklist the bot posted;
- status updates on cadence: the gaps between the start, each status update and the
  close; a gap longer than the severity's `update_every_minutes` is a missed update.

Everything from people is neutralised (`service.text`): the card is posted into the drill issue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..durations import human_duration
from ..store.model import EventKind, Progress, TimelineEvent
from ..store.timeline import Milestones
from ..text import neutralise_line
from .figures import TARGETS


@dataclass(frozen=True)
class Measure:
    """One time of the drill (None: never reached) and its target (None: none set)."""

    title: str
    minutes: float | None
    target: float | None
    note: str = ""  # said instead of the verdict

    @property
    def met(self) -> bool | None:
        """True within the target, False over it or never reached, None without a target."""
        if self.target is None:
            return None
        return self.minutes is not None and self.minutes <= self.target


@dataclass(frozen=True)
class Cadence:
    """Status updates against the severity's cadence (`every` None: the severity sets none)."""

    every: float | None
    updates: int
    gaps: tuple[float, ...]  # start → first update → ... → close, in minutes

    @property
    def on_time(self) -> int:
        """Gaps no longer than the cadence (all of them without one)."""
        return sum(1 for g in self.gaps if self.every is None or g <= self.every)

    @property
    def longest(self) -> float | None:
        return max(self.gaps) if self.gaps else None


@dataclass(frozen=True)
class Scorecard:
    """Everything the card shows, before formatting."""

    scenario: str | None
    severity: int | None  # the level whose targets apply: the scenario's, else the highest reached
    expected: bool  # `severity` is the scenario's (False: the scenario is unknown to the rules)
    start: datetime | None
    end: datetime
    measures: tuple[Measure, ...]
    checklists: tuple[Progress, ...]
    cadence: Cadence
    roles: tuple[tuple[str, tuple[str, ...]], ...]  # (role title, the people who held it in order)

    @property
    def ticked(self) -> tuple[int, int]:
        """Checklist items ticked, and their total, over every phase."""
        return sum(p.ticked for p in self.checklists), sum(p.total for p in self.checklists)


def _after(start: datetime | None, at: datetime | None) -> float | None:
    if start is None or at is None:
        return None
    return round(max((at - start).total_seconds(), 0.0) / 60, 2)


def score(
    events: Iterable[TimelineEvent],
    milestones: Milestones,
    *,
    end: datetime,
    scenario: str | None,
    expected_severity: int | None,
    expected_phases: Sequence[tuple[str, float]],
    phase_order: Sequence[str],
    targets: Mapping[int, Mapping[str, float]],
    cadences: Mapping[int, float | None],
    checklists: Iterable[Progress],
    roles: Sequence[tuple[str, str]] = (),
    role_titles: Mapping[str, str] | None = None,
) -> Scorecard:
    """The scorecard of a drill that closed at `end` (see the module docstring for each figure)."""
    start = milestones.start
    ordered = [e for e in sorted(events, key=lambda e: (e.at, e.key())) if start is None or e.at >= start]
    level = expected_severity if expected_severity is not None else milestones.highest_severity
    wanted = targets.get(level, {}) if level is not None else {}
    acknowledge = wanted.get(TARGETS["acknowledge"])
    measures = [Measure("Time to acknowledge", _after(start, milestones.acknowledged), acknowledge)]
    if expected_severity is not None:
        level_set = (e for e in ordered if e.kind is EventKind.SEVERITY and e.value_to == str(expected_severity))
        found = next(level_set, None)
        # The bot setting a severity where there was none is the rules' default at the declaration, not a choice.
        note = "the rules' default, set by the bot" if found and found.by_bot and not found.value_from else ""
        title = f"Time to set severity {expected_severity}"
        measures.append(Measure(title, _after(start, found.at if found else None), None, note))
    for phase, by_minutes in expected_phases:
        later = set(phase_order[phase_order.index(phase) :]) if phase in phase_order else {phase}
        at = next((e.at for e in ordered if e.kind is EventKind.PHASE and e.value_to in later), None)
        measures.append(Measure(f"Time to reach {phase}", _after(start, at), float(by_minutes)))
    measures.append(Measure("Time to mitigate", _after(start, milestones.mitigated), wanted.get(TARGETS["mitigate"])))
    measures.append(Measure("Time to resolve", _after(start, milestones.resolved), wanted.get(TARGETS["resolve"])))
    updates = [e.at for e in ordered if e.kind is EventKind.STATUS_UPDATE and e.at <= end]
    points = [start, *updates, end] if start is not None else []
    gaps = tuple(g for a, b in zip(points, points[1:], strict=False) if (g := _after(a, b)) is not None)
    titles = role_titles or {}
    held: dict[str, list[str]] = {}
    for role, user in roles:
        held.setdefault(role, []).append(user)
    return Scorecard(
        scenario=scenario,
        severity=level,
        expected=expected_severity is not None,
        start=start,
        end=end,
        measures=tuple(measures),
        checklists=tuple(checklists),
        cadence=Cadence(cadences.get(level) if level is not None else None, len(updates), gaps),
        roles=tuple((titles.get(r, r), tuple(people)) for r, people in held.items()),
    )


def render_scorecard(card: Scorecard, severity_names: Mapping[int, str]) -> str:
    """The card as Markdown for the drill issue: a table of measures, then who held which role."""
    level = card.severity
    named = f"severity {level} ({neutralise_line(severity_names.get(level, ''))})" if level is not None else ""
    scenario = f"scenario `{neutralise_line(card.scenario)}`" if card.scenario else "an unknown scenario"
    whose = "expected" if card.expected else "highest reached"
    ends = f"{card.end:%H:%M}" if card.start and card.start.date() == card.end.date() else f"{card.end:%Y-%m-%d %H:%M}"
    span = f"{card.start:%Y-%m-%d %H:%M} – {ends} UTC" if card.start else "start unknown"
    lines = [
        f"Drill of {scenario}, {span}; targets of {named or 'no severity'}"
        + (f", the {whose} severity." if named else "."),
        "",
        "| measure | time | target | |",
        "| --- | --- | --- | --- |",
    ]
    for m in card.measures:
        shown, target = human_duration(m.minutes, "not reached"), human_duration(m.target, "-")
        lines.append(f"| {neutralise_line(m.title)} | {shown} | {target} | {_verdict(m)} |")
    ticked, total = card.ticked
    if total:
        phases = ", ".join(f"{neutralise_line(p.phase)} {p.ticked}/{p.total}" for p in card.checklists)
        share = round(100 * ticked / total)
        lines.append(f"| Checklist items ticked | {ticked} of {total} ({share}%) | - | {phases} |")
    else:
        lines.append("| Checklist items ticked | no checklist read | - | |")
    lines.append(_cadence_row(card.cadence))
    lines += ["", _roles(card.roles)]
    return "\n".join(lines)


def _cadence_row(c: Cadence) -> str:
    longest = f", longest gap {human_duration(c.longest)}" if c.longest is not None else ""
    shown = f"{c.updates} update{'s' if c.updates != 1 else ''}{longest}"
    if c.every is None:
        return f"| Status updates | {shown} | - | no cadence set for this severity |"
    missed = len(c.gaps) - c.on_time
    verdict = f"{c.on_time} of {len(c.gaps)} gaps on cadence" + (f", **{missed} missed**" if missed else "")
    return f"| Status updates | {shown} | every {human_duration(c.every)} | {verdict} |"


def _roles(roles: Sequence[tuple[str, Sequence[str]]]) -> str:
    if not roles:
        return "Roles held: nobody was staffed."
    people = "; ".join(
        f"{neutralise_line(title)}: {' → '.join(neutralise_line('@' + u) for u in users)}" for title, users in roles
    )
    return f"Roles held (recorded in the training record): {people}."


def _verdict(m: Measure) -> str:
    if m.note:
        return m.note
    if m.minutes is None:
        return "**not reached**"
    if m.target is None:
        return "reached"
    return "met" if m.met else f"**over by {human_duration(m.minutes - m.target)}**"
