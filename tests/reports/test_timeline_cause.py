"""The timeline's words for a cause (issue 19): "cause confirmed: <change>" and "cause cleared", the change's
text made inert (the timeline is posted back into GitLab)."""

from __future__ import annotations

from datetime import UTC, datetime

from service.reports.timeline import render_timeline
from service.store.cause_events import cause_event, cause_events, marker
from service.store.timeline import Milestones

AT = datetime(2026, 11, 27, 10, 5, 7, 123456, tzinfo=UTC)


def test_cause_events_in_words_and_inert() -> None:
    """Who is named, not pinged; a reference shaped like a link, a mention or a quick action stays text."""
    events = [
        cause_event(AT, "merge request group/x!12 /close @all [x](javascript:1)", "alice"),
        cause_event(AT, None, "bob"),
    ]
    none = Milestones(None, None, None, None, None, None)
    text = render_timeline(events, none, targets={}, severity_names={}, now=AT)
    assert "| 2026-11-27 10:05 | cause confirmed: merge request group/x!12" in text
    assert "| 2026-11-27 10:05 | cause cleared | @\u2060bob |" in text
    assert "@all" not in text and "](javascript" not in text and "\n/close" not in text


def test_the_marker_gives_back_the_event() -> None:
    """What the bot's confirmation carries is the event, to the second, whatever its text (a marker cannot be ended
    early by a reference)."""
    for ref in ("deployment 5 (abc) to production", "x --> <!-- y", "ünïcode %41", None):
        event = cause_event(AT, ref, "alice")
        assert cause_events(f"Cause recorded.\n\n{marker(event)}") == [event]
        assert "-->" not in marker(event)[:-3]
