"""One incident's timeline as Markdown (pure): the `timeline` command's reply and the review issue's pre-fill.

Every value that came from people (usernames, label-derived names, URLs) goes through
`service.text` neutralisation: the timeline is posted back into GitLab, where a
username must not ping and a crafted label must not become a link or a quick action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ..durations import human_duration
from ..store.model import EventKind, TimelineEvent
from ..store.timeline import Milestones
from ..text import neutralise_line, ref_text
from .figures import TARGETS, Targets

MAX_ROWS = 200  # a long incident keeps its latest rows; the note stays far below GitLab's size limit
MILESTONES = (
    ("declared", "start"),
    ("acknowledged", "acknowledged"),
    ("mitigated", "mitigated"),
    ("resolved", "resolved"),
)
MEASURES = (
    ("Time to acknowledge", "acknowledge", "acknowledged"),
    ("Time to mitigate", "mitigate", "mitigated"),
    ("Time to resolve", "resolve", "resolved"),
)

MERGE_REQUEST = "merge request "  # how the worker words a merge request it recorded as the cause


def render_timeline(
    events: Iterable[TimelineEvent],
    milestones: Milestones,
    *,
    targets: Targets,
    severity_names: Mapping[int, str],
    now: datetime,
) -> str:
    """The incident's timeline (milestones in bold among the changes) and its times against the targets."""
    rows: list[tuple[datetime, int, str, str]] = []
    for title, attr in MILESTONES:
        at = getattr(milestones, attr)
        if at is not None:
            rows.append((at, 0, f"**{title}**", ""))
    for e in sorted(events, key=lambda e: (e.at, e.key())):
        what = _describe(e, severity_names)
        if what:
            rows.append((e.at, 1, what, _who(e)))
    rows.sort(key=lambda r: (r[0], r[1]))
    lines = ["| when (UTC) | what | who |", "| --- | --- | --- |"]
    if len(rows) > MAX_ROWS:
        lines.append(f"| | *{len(rows) - MAX_ROWS} earlier entries not shown* | |")
        rows = rows[-MAX_ROWS:]
    lines += [f"| {at:%Y-%m-%d %H:%M} | {what} | {who} |" for at, _, what, who in rows]
    if len(rows) == 0:
        lines.append("| | *nothing recorded yet* | |")
    return (
        "\n".join(lines) + "\n\n" + render_targets(milestones, targets=targets, severity_names=severity_names, now=now)
    )


def render_targets(
    milestones: Milestones, *, targets: Targets, severity_names: Mapping[int, str], now: datetime
) -> str:
    """TTA, TTM and TTR against the targets of the highest severity the incident reached."""
    level = milestones.highest_severity
    wanted = targets.get(level, {}) if level is not None else {}
    name = (
        f"severity {level} ({neutralise_line(severity_names.get(level, ''))})" if level is not None else "no severity"
    )
    lines = [
        f"Times against the targets of {name}, the highest severity reached:",
        "",
        "| measure | time | target | |",
        "| --- | --- | --- | --- |",
    ]
    start = milestones.start
    for title, target_name, attr in MEASURES:
        at = getattr(milestones, attr)
        target = wanted.get(TARGETS[target_name])
        minutes = (at - start).total_seconds() / 60 if at is not None and start is not None else None
        elapsed = (now - start).total_seconds() / 60 if start is not None else None
        shown = human_duration(minutes, missing="not yet")
        if target is None:
            verdict = "no target"
        elif minutes is not None:
            verdict = "met" if minutes <= target else f"**over by {human_duration(minutes - target)}**"
        elif elapsed is not None and elapsed > target:
            verdict = f"**past target by {human_duration(elapsed - target)}**"
        else:
            verdict = "running"
        lines.append(f"| {title} | {shown} | {human_duration(target) if target is not None else '-'} | {verdict} |")
    return "\n".join(lines)


def _describe(e: TimelineEvent, severity_names: Mapping[int, str]) -> str:
    """One event in words; empty for what the timeline leaves out (plain comments)."""
    was, to = neutralise_line(e.value_from), neutralise_line(e.value_to)
    match e.kind:
        case EventKind.INCIDENT:
            return "became an incident" if e.value_to == "added" else "no longer an incident"
        case EventKind.SEVERITY:
            named = _severity(e.value_to, severity_names)
            if not e.value_from:
                return f"severity set to {named}" if e.value_to else ""
            if not e.value_to:
                return f"severity {was} removed"
            raised = e.value_to.isdigit() and e.value_from.isdigit() and int(e.value_to) < int(e.value_from)
            return f"{'escalated' if raised else 'de-escalated'}: severity {was} → {named}"
        case EventKind.PHASE:
            return f"phase {was} → {to}" if e.value_from and e.value_to else (f"phase {to}" if to else "")
        case EventKind.CATEGORY:
            return f"category {to}" if to else "category removed"
        case EventKind.STATE:
            return "issue closed" if e.value_to == "closed" else "issue reopened"
        case EventKind.STATUS_UPDATE:
            return "status update"
        case EventKind.ROLE:
            role = neutralise_line(e.name)
            if not e.value_from:
                return f"{role} staffed: {_person(e.value_to)}"
            if not e.value_to:
                return f"{role} released by {_person(e.value_from)}"
            return f"{role} handed off from {_person(e.value_from)} to {_person(e.value_to)}"
        case EventKind.REVIEW:
            return f"post-incident review opened: {to}"
        case EventKind.PAGE:
            through = f" (on call in {neutralise_line(e.value_from)})" if e.value_from else ""
            return f"paged {_person(e.actor)}{through}"
        case EventKind.PAGE_ACK:
            return f"page acknowledged by {_person(e.actor)}"
        case EventKind.CAUSE:
            return f"cause confirmed: {_cause(e.value_to)}" if e.name == "confirmed" else "cause cleared"
    return ""


def _cause(value: str) -> str:
    """The cause as the worker recorded it: a merge request's reference live (the bot's: its project is one the
    index knows), any other change's words inert."""
    if not value.startswith(MERGE_REQUEST):
        return neutralise_line(value)
    reference, _, rest = value.removeprefix(MERGE_REQUEST).partition(" ")
    return MERGE_REQUEST + ref_text(reference) + (f" {neutralise_line(rest)}" if rest else "")


def _severity(value: str, names: Mapping[int, str]) -> str:
    name = names.get(int(value)) if value.isdigit() else None
    return f"{neutralise_line(value)} ({neutralise_line(name)})" if name else neutralise_line(value)


def _person(username: str) -> str:
    """A username shown without pinging (the timeline names people; it does not call them)."""
    return neutralise_line("@" + username) if username else "nobody"


def _who(e: TimelineEvent) -> str:
    return "the bot" if e.by_bot else _person(e.actor)
