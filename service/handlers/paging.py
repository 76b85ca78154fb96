"""Pages in the plan: one starts at a `page_on` severity or with `@bot page <team>`, escalates level by level
when its step falls due unacknowledged, and stops at `@bot ack` or the acknowledgement link.

A page is a record in the incident's memory (`pages`, by page id): who was paged at which step, whether and by
whom it was acknowledged. Each step is a delivery the bot queues for itself when the step's job falls due
(`service.worker.paging`); it goes through the issue's ordered queue like any other, so an acknowledgement and a
step never interleave: whichever comes first is applied first, and the other sees it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from ..events import is_incident
from ..plan import AcknowledgePage, SchedulePageStep, SendPage
from ..rules.paging import Policy, split
from ..text import mention
from .draft import POST, REPLY, Draft
from .drills import drill_involved

RULE = "paging"
ACK_RULE = "command:ack"
MAX_PAGES = 10  # page records kept in the memory: the open ones and the latest ended ones
MAX_SENT = 60  # the people paged kept per page record (each level of each run: at most 10 levels x 6 runs)
TIME = "%Y-%m-%dT%H:%M:%SZ"


def page_id(d: Draft, why: str) -> str:
    """A page's id: fixed by the delivery that started it, so a retried delivery starts the same page."""
    return hashlib.sha256(f"{d.event.project_id}:{d.event.iid}:{d.event.delivery_id}:{why}".encode()).hexdigest()[:12]


def pages(d: Draft) -> dict[str, dict[str, Any]]:
    """The page records as the plan leaves them so far (a copy)."""
    raw = d.memory.get("pages")
    return {k: dict(v) for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}


def open_pages(d: Draft) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in pages(d).items() if not v.get("ended")}


def _save(d: Draft, page: str, record: dict[str, Any]) -> None:
    found = pages(d)
    found[page] = record
    ended = [k for k, v in found.items() if v.get("ended") and k != page]
    for old in ended[: max(0, len(found) - MAX_PAGES)]:
        del found[old]
    d.remember("pages", found)


def start_on_severity(d: Draft) -> None:
    """Planning step: the incident reached a `page_on` severity (declared so, or escalated to it): page."""
    paging = d.rules.paging
    trigger = paging.trigger(d.severity())
    if trigger is None or d.closing or not d.event.is_incident or drill_involved(d):
        return
    before = d.before("severity") if d.before("declared") else None
    if before in trigger.severities or any(p.get("why") == "severity" for p in open_pages(d).values()):
        return
    policy = paging.policies[trigger.policy]
    d.post(POST, begin(d, policy, "severity", tuple(f"role:{r}" for r in trigger.roles)), RULE)


def begin(d: Draft, policy: Policy, why: str, first: tuple[str, ...]) -> str:
    """Start a page of `policy` (`first`: who its first level reaches instead of the policy's); the reply's text."""
    page = page_id(d, why)
    record = {"policy": policy.name, "why": why, "first": list(first), "started": d.now.strftime(TIME), "step": -1}
    record.update(people={}, channels={}, last=[], acked=None, ended=None)
    return _step(d, page, record, policy, 0)


def _reach(d: Draft, targets: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """The people (username: the rotation that reaches them, "" for none) and channels `targets` reach now: a role's
    holder (else its rotation's on-call)."""
    people: dict[str, str] = {}
    channels: list[str] = []
    staffed = d.memory.get("staffed", {})
    for target in targets:
        kind, name = split(target)
        user, through = None, ""
        if kind == "channel" and name in d.rules.channels:
            channels.append(name)
        elif kind == "role" and name in d.rules.roles:
            through = d.rules.roles[name].rotation
            rotation = d.rules.rotations.get(through)
            user = staffed.get(name) or (rotation.on_call(d.now) if rotation else None)
        elif kind == "rotation" and name in d.rules.rotations:
            user, through = d.rules.rotations[name].on_call(d.now), name
        if user and user not in people:
            people[user] = through if through in d.rules.rotations else ""
    return people, channels


def _step(d: Draft, page: str, record: dict[str, Any], policy: Policy, step: int) -> str:
    """Page step `step`: its level's people and channels not yet paged in this run; schedule the next step."""
    count = len(policy.levels)
    level, run = policy.level(step), step // count
    first = tuple(record.get("first") or ())
    people, channels = _reach(d, first if step % count == 0 and first else level.notify)
    people_at, channels_at = dict(record["people"]), dict(record["channels"])
    new_people = [p for p in people if people_at.get(p, -1) < run * count]
    sent = [*(record.get("sent") or ()), *(_sent(d, p, people[p], step, level.ack_within_minutes) for p in new_people)]
    new_channels = [c for c in channels if channels_at.get(c, -1) < run * count]
    level_severity = d.severity()
    name = d.rules.severities[level_severity].name if level_severity is not None else ""
    for person in new_people:
        for contact in d.rules.paging.contacts.get(person, ()):
            d.page(SendPage(RULE, page, step, person, contact, severity=level_severity, severity_name=name))
        people_at[person] = step
    for channel in new_channels:
        d.page(SendPage(RULE, page, step, "", f"channel:{channel}", severity=level_severity, severity_name=name))
        channels_at[channel] = step
    d.page(SchedulePageStep(RULE, page, step + 1, level.ack_within_minutes))
    who = [*(mention(p) for p in people), *(f"`{c}`" for c in channels)]
    record.update(step=step, people=people_at, channels=channels_at, last=who, sent=sent[-MAX_SENT:])
    _save(d, page, record)
    where = f"level {step % count + 1} of {count}" + (
        f", run {run + 1} of {policy.repeat + 1}" if policy.repeat else ""
    )
    d.timeline(f"paged ({where}): {', '.join(who) or 'nobody (no one on call)'}")
    minutes = f"{level.ack_within_minutes:g} min"
    body = (
        f"**Paged** (policy `{policy.name}`, {where}): {_reached(d, people, channels)}. "
        f"Acknowledge with `@{d.bot} ack` or the link in the page; unacknowledged after {minutes}, the next level "
        "is paged."
    )
    return body


def _sent(d: Draft, person: str, rotation: str, step: int, within: float) -> dict[str, Any]:
    """What the index keeps of one person paged (`store.pages`): when, at which step, through which rotation, and
    the minutes they had to acknowledge (the report's target)."""
    return {"person": person, "step": step, "at": d.now.strftime(TIME), "rotation": rotation, "within": within}


def _reached(d: Draft, people: Iterable[str], channels: list[str]) -> str:
    """Who was paged and how: `@carol (channel pager-carol, e-mail)`, a person with no contact by mention only."""
    shown = []
    for person in people:
        contacts = d.rules.paging.contacts.get(person, ())
        how = ", ".join("e-mail" if split(c)[0] == "email" else f"channel `{split(c)[1]}`" for c in contacts)
        shown.append(f"{mention(person)} ({how or 'no contact in the rules: this mention only'})")
    shown += [f"channel `{c}`" for c in channels]
    return ", ".join(shown) or "nobody (no one is on call for this level)"


def on_signal(d: Draft) -> None:
    """The planning step of a delivery the bot queued for a page: a step fell due, or a link acknowledged it."""
    kind, _, rest = d.event.paging.partition(":")
    page, _, arg = rest.partition(":")
    if kind == "step" and arg.isdigit():
        escalate(d, page, int(arg))
    elif kind == "ack" and arg:
        reply = acknowledge(d, arg, "link", only=page)
        if reply:
            d.post(REPLY, reply, ACK_RULE)


def escalate(d: Draft, page: str, step: int) -> None:
    """Step `step` of `page` fell due: page the next level, or after the last tell the broadcast channels."""
    record = pages(d).get(page)
    if record is None or record.get("ended") or int(record.get("step", -1)) >= step:
        return  # acknowledged, ended, superseded, or this step already applied
    issue = d.state.issue
    last_phase = d.rules.phases[-1].name if d.rules.phases else None
    policy = d.rules.paging.policies.get(str(record.get("policy")))
    if (
        issue.state == "closed"
        or d.phase() == last_phase
        or policy is None
        or not is_incident(issue.issue_type, d.labels, d.rules.incident_label)
    ):
        _save(d, page, {**record, "ended": "resolved" if policy else "policy removed"})
        return
    before = policy.level(step - 1)
    late = ", ".join(record.get("last") or ()) or "nobody"
    said = f"Not acknowledged by {late} within {before.ack_within_minutes:g} min"
    if step >= policy.steps:
        told = [c for c in d.rules.settings.broadcast_channels if c in d.rules.channels]
        for channel in told:
            d.notify(channel, "page_unacknowledged", RULE)
        _save(d, page, {**record, "step": step, "ended": "unacknowledged"})
        d.timeline(f"page not acknowledged after every level; broadcast to {', '.join(told) or 'no channel'}")
        runs = f", {policy.repeat + 1} runs" if policy.repeat else ""
        shown = ", ".join(f"`{c}`" for c in told) or "no channel (none configured)"
        d.post(POST, f"**{said}.** Nobody acknowledged the page (policy `{policy.name}`{runs}); told {shown}.", RULE)
        return
    body = _step(d, page, dict(record), policy, step)
    d.post(POST, f"{said}; paging the next level.\n\n{body}", RULE)


def acknowledge(d: Draft, person: str, via: str, only: str | None = None) -> str:
    """`person` acknowledges the open pages they were paged in (`only`: that page); the reply ("" for a stale link)."""
    found = {k: v for k, v in open_pages(d).items() if only is None or k == only}
    mine = {k: v for k, v in found.items() if person in v.get("people", {})}
    if not mine:
        if only is not None:
            return ""  # a link to a page already acknowledged or ended: the issue already says so
        if not found:
            return "No page is waiting for an acknowledgement."
        paged = sorted({p for v in found.values() for p in v.get("people", {})})
        return f"Only the people paged can acknowledge: {', '.join(mention(p) for p in paged) or 'nobody'}."
    at = d.now.strftime(TIME)
    for page, record in mine.items():
        _save(d, page, {**record, "acked": {"by": person, "at": at, "via": via}, "ended": "acked"})
        d.page(AcknowledgePage(ACK_RULE, page, person, via, at))
    d.timeline(f"page acknowledged by {mention(person)}" + (" (link)" if via == "link" else ""))
    return (
        f"Page acknowledged by {mention(person)}"
        + (" through the link" if via == "link" else "")
        + ("; the escalation is stopped.")
    )


def ack_command(d: Draft, rest: str) -> str:
    """`@bot ack`: the author acknowledges the pages they were paged in."""
    return acknowledge(d, d.event.actor.username, "comment")
