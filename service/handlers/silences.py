"""Silences from GitLab (issue 18): `@bot silence <duration>` and `@bot unsilence` on an alert incident, and the
silences expired when the incident closes. Pure: the worker (`worker/silences.py`) talks to Alertmanager and
replies with the silence's id and end in the delivery's one note.
"""

from __future__ import annotations

from ..alerts.actions import ExpireAlertSilences, SilenceAlertGroup, UnsilenceAlertGroup
from ..alerts.render import group_of
from ..bounds import OutOfBounds, duration
from ..text import neutralise_line
from .draft import Draft

RULE = "command:silence"
UNSILENCE_RULE = "command:unsilence"
CLOSE_RULE = "alerts.silences"
NOT_AN_ALERT = "This incident was not opened from an alert, so there is nothing to silence."


def silence_command(d: Draft, rest: str) -> str:
    """Plan a silence of the group's labels for the duration given (service/bounds.py: 1m to a century)."""
    group = group_of(d.state.issue.description)
    if group is None:
        return NOT_AN_ALERT
    try:
        span = duration(rest.strip(), "the silence's duration")
    except OutOfBounds as exc:
        given = neutralise_line(rest.strip()[:64]) or "nothing"
        return f"Usage: `@{d.bot} silence <duration>`, e.g. `2h`: {exc} (not {given})."
    url = d.state.issue.web_url or d.event.url
    d.silence(SilenceAlertGroup(RULE, group, int(span.total_seconds()), d.event.actor.username, url))
    return ""


def unsilence_command(d: Draft, rest: str) -> str:
    """Plan the expiry of the silences the bot made for this incident's group."""
    group = group_of(d.state.issue.description)
    if group is None:
        return NOT_AN_ALERT
    d.silence(UnsilenceAlertGroup(UNSILENCE_RULE, group))
    return ""


def expire_on_close(d: Draft) -> None:
    """An alert incident closing (by a person, a rule or `on_resolved: close`): its silences are expired."""
    closing_now = d.event.action == "close" or (d.closing and d.state.issue.state != "closed")
    group = group_of(d.state.issue.description)
    if closing_now and group is not None:
        d.silence(ExpireAlertSilences(CLOSE_RULE, group))
