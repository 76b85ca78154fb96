"""How an alert incident reads: its title, its description with the table of the group's alerts, the comments.

Everything an alert says (labels, annotations, names) is neutralised through `service.text` before it reaches
GitLab: a title as plain text, table cells and comment lines as inert Markdown, links only when plain http(s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..text import md_link, neutralise_line, plain
from .payload import AlertGroup

TABLE_START = "<!-- incident-bot:alerts -->"
TABLE_END = "<!-- /incident-bot:alerts -->"
_TABLE = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.DOTALL)
_MARKER = "<!-- incident-bot:alert-group {group} {opening} -->"
_GROUP = re.compile(r"<!-- incident-bot:alert-group ([0-9a-f]{32}) ")
_NOTE_MARKER = "<!-- incident-bot:alert-note {group} {key} -->"
MAX_TITLE = 200
# GitLab refuses (400, for good) a description or comment over 1,000,000 characters, and neutralising can make a
# character six: every cell, the table and the lists are cut so what the bot writes stays under MAX_TEXT.
MAX_TEXT = 200_000
MAX_ROWS = 100  # alert rows shown at most; the rest are counted
MAX_TABLE = 100_000  # characters of the alert table; the rows past it are counted
MAX_STORM_ROWS = 400  # groups listed in a storm incident; the rest are counted
MAX_LABELS_SHOWN = 12
MAX_CELL = 500  # characters of one table cell (the labels), once neutralised
MAX_NAME = 200  # characters of an alert's name or a group's title in a row or a comment line
MAX_PROSE = 4000  # characters of the group's description annotation
MAX_URL = 1000  # a longer link is shown by its name alone
SOURCES = {"alertmanager": "Alertmanager", "grafana": "Grafana", "generic": "a generic alert"}


def marker(group_id: str, opening: str) -> str:
    """The hidden line naming the group and the delivery that opened its incident (found again on retry)."""
    safe = re.sub(r"[^A-Za-z0-9_.:-]", "", opening)[:120]
    return _MARKER.format(group=group_id, opening=safe)


def group_of(description: str) -> str | None:
    """The alert group an incident was opened for (its description's marker); None for any other issue."""
    found = _GROUP.search(description or "")
    return found.group(1) if found else None


def note_marker(group_id: str, key: str) -> str:
    """The hidden line naming the group and the occasion of a comment (found again on retry)."""
    return _NOTE_MARKER.format(group=group_id, key=re.sub(r"[^A-Za-z0-9_.:-]", "", key)[:120])


def title(group: AlertGroup) -> str:
    """`commonAnnotations.summary`, else the sender's title, else the alert name and the group's labels."""
    summary = group.common_annotations.get("summary") or group.title
    if not summary:
        first = group.alerts[0]
        name = group.common_labels.get("alertname") or first.name
        extra = ", ".join(f"{k}={v}" for k, v in sorted(group.group_labels.items()) if k != "alertname")
        summary = f"{name} ({extra})" if extra else name
    shown = plain(" ".join(summary.split()))
    return shown if len(shown) <= MAX_TITLE else shown[: MAX_TITLE - 1] + "…"


def when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if stamp is not None else "—"


def clip(text: str, limit: int) -> str:
    """`text` neutralised for one line and cut, with an ellipsis, to at most `limit` characters (the cut is made
    before neutralising, so no escape is cut in half)."""
    cut = min(len(text), limit)
    shown = neutralise_line(text[:cut]) + ("…" if cut < len(text) else "")
    while len(shown) > limit and cut > 0:
        cut = min(cut - 1, cut * limit // len(shown))
        shown = neutralise_line(text[:cut]) + "…"
    return shown


def _labels(labels: Mapping[str, str]) -> str:
    shown = [f"{k}={v}" for k, v in sorted(labels.items())[:MAX_LABELS_SHOWN]]
    more = len(labels) - MAX_LABELS_SHOWN
    return clip(", ".join(shown) + (f", … {more} more" if more > 0 else ""), MAX_CELL)


def _row(alert: Mapping[str, Any]) -> str:
    links = " · ".join(md_link(name, url if len(url) <= MAX_URL else None) for name, url in alert.get("links") or ())
    return (
        f"| {clip(alert['name'], MAX_NAME)} | {alert['status']} | {when(alert.get('starts_at'))} "
        f"| {when(alert.get('ends_at'))} | {_labels(alert.get('labels') or {})} | {links or '—'} |"
    )


def table(alerts: Mapping[str, Mapping[str, Any]]) -> str:
    """The alert table between its markers (the part of the description the bot edits in place): at most MAX_ROWS
    rows and MAX_TABLE characters, the alerts left out counted."""
    rows = sorted(alerts.values(), key=lambda a: (a.get("status") != "firing", a.get("starts_at") or 0, a["name"]))
    lines = [TABLE_START, "| Alert | Status | Started | Resolved | Labels | Links |", "|---|---|---|---|---|---|"]
    used = 0
    for alert in rows[:MAX_ROWS]:
        row = _row(alert)
        used += len(row) + 1
        if used > MAX_TABLE:
            break
        lines.append(row)
    if len(rows) > len(lines) - 3:
        lines.append(f"\n_{len(rows) - (len(lines) - 3)} more alerts not shown._")
    return "\n".join([*lines, TABLE_END])


def description(group: AlertGroup, alerts: Mapping[str, Mapping[str, Any]], opening: str, previous: str = "") -> str:
    """The new incident's description: where it came from, the table, the group's description and marker."""
    source = SOURCES.get(str(group.source), str(group.source))
    lines = [f"**Opened from {source}** for alert group {_labels(group.group_labels or group.common_labels)}."]
    if previous:
        lines.append(f"This group fired before: {previous}.")
    lines += ["", table(alerts)]
    text = group.common_annotations.get("description") or group.common_annotations.get("message") or ""
    if text:
        lines += ["", "**Description:** " + clip(text, MAX_PROSE)]
    if group.external_url:
        lines += ["", md_link("Open in " + source, group.external_url)]
    return "\n".join([*lines, "", marker(group.group_id, opening)])


def with_table(current: str, fresh: str) -> str:
    """The description with its table replaced by `fresh` (appended when a person removed it)."""
    if _TABLE.search(current):
        return _TABLE.sub(lambda _: fresh, current, count=1)
    return f"{current.rstrip()}\n\n{fresh}"


def resolved_comment(alerts: Mapping[str, Mapping[str, Any]], behaviour: str) -> str:
    """The comment when every alert of the group has resolved: when each did, and what the bot does next."""
    lines = ["**All alerts of this group have resolved.**", ""]
    lines += [f"- {clip(a['name'], MAX_NAME)}: resolved {when(a.get('ends_at'))}" for a in _sorted(alerts.values())]
    then = {
        "comment": "The incident stays open: finish the work, then move it on.",
        "mitigate": "The incident moves to remediation (mitigated).",
        "close": "The incident is closed.",
    }[behaviour]
    return "\n".join([*lines[: MAX_ROWS + 2], "", then])


def fired_again_comment(firing: Iterable[Mapping[str, Any]], resolved_at: float | None, reopened: bool) -> str:
    """The comment when a resolved group fires again within `reopen_within_minutes`."""
    head = "**Fired again**" + (" (the incident is reopened)" if reopened else "")
    lines = [f"{head}: the group resolved at {when(resolved_at)}.", ""]
    lines += [f"- {clip(a['name'], MAX_NAME)}: firing since {when(a.get('starts_at'))}" for a in _sorted(firing)]
    return "\n".join(lines[: MAX_ROWS + 2])


def storm_description(groups: Mapping[str, Mapping[str, Any]], limit: int) -> str:
    """The storm incident's description: every group it gathers, updated in place."""
    lines = [
        f"**Alert storm**: more than {limit} new alert groups in a minute. Instead of an incident each, "
        "they are gathered here.",
        "",
        TABLE_START,
        "| Group | Status | Since |",
        "|---|---|---|",
    ]
    listed = sorted(groups.values(), key=lambda g: (g.get("since") or 0, g["title"]))
    for group in listed[:MAX_STORM_ROWS]:
        lines.append(f"| {clip(group['title'], MAX_NAME)} | {group['status']} | {when(group.get('since'))} |")
    if len(listed) > MAX_STORM_ROWS:
        lines.append(f"\n_{len(listed) - MAX_STORM_ROWS} more groups not shown._")
    return "\n".join([*lines, TABLE_END])


def _sorted(alerts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(alerts, key=lambda a: (a.get("ends_at") or a.get("starts_at") or 0, a["name"]))
