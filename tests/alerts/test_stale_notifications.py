"""A late notification changes nothing: a "firing" of an alert the record has resolved counts as firing again
only when its startsAt is newer (Prometheus gives a re-fired alert a new one), and a "resolved" of an older firing
does not resolve a newer one (an HA pair's second Alertmanager, a spool drained late). Real job, fake GitLab."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from service.alerts.grouping import stale
from service.rules.alertmodel import OnResolved
from service.worker import Runtime
from tests.alerts.helpers import OPS, alert, new_issues
from tests.alerts.samples import alertmanager, am_alert
from tests.fakegitlab import FakeGitLab

FIRST, AGAIN = "2026-11-27T09:58:00Z", "2026-11-27T10:20:00Z"


def sent(status: str, starts_at: str) -> dict[str, Any]:
    """Alertmanager's notification of the one alert, `status`, started at `starts_at`."""
    one = am_alert(status=status)
    one["startsAt"] = starts_at
    return alertmanager(one)


@pytest.fixture()
def closing(runtime: Runtime) -> Runtime:
    """`on_resolved: close`: a wrong "fired again" would reopen the incident."""
    runtime.rules = replace(runtime.rules, alerts=replace(runtime.rules.alerts, on_resolved=OnResolved.CLOSE))
    return runtime


def said(fake: FakeGitLab, iid: int, text: str) -> int:
    return sum(text in n["body"] for n in fake.notes.get((OPS, iid), []))


def test_a_stale_firing_after_resolved_posts_nothing_and_reopens_nothing(fake: FakeGitLab, closing: Runtime) -> None:
    """Firing, resolved (closed), then the same firing again (same startsAt): nothing; a real re-fire (newer
    startsAt) is "Fired again" and reopens."""
    alert(sent("firing", FIRST), "d-1")
    alert(sent("resolved", FIRST), "d-2")
    [issue] = new_issues(fake)
    assert issue["state"] == "closed"
    assert alert(sent("firing", FIRST), "d-3") == "nothing to do"
    assert issue["state"] == "closed" and said(fake, issue["iid"], "Fired again") == 0
    assert "| HighErrorRate | resolved |" in issue["description"]
    alert(sent("firing", AGAIN), "d-4")
    assert issue["state"] == "opened" and said(fake, issue["iid"], "Fired again") == 1
    assert len(new_issues(fake)) == 1


def test_a_late_resolved_of_an_older_firing_does_not_resolve_the_newer(fake: FakeGitLab, closing: Runtime) -> None:
    """Fired, resolved, fired again (newer startsAt); then the older firing's "resolved" arrives late: the incident
    stays open, no second resolution comment."""
    alert(sent("firing", FIRST), "d-1")
    alert(sent("resolved", FIRST), "d-2")
    alert(sent("firing", AGAIN), "d-3")
    [issue] = new_issues(fake)
    assert issue["state"] == "opened"
    assert alert(sent("resolved", FIRST), "d-4") == "nothing to do"
    assert issue["state"] == "opened" and said(fake, issue["iid"], "All alerts of this group have resolved") == 1
    assert "| HighErrorRate | firing |" in issue["description"]


@pytest.mark.parametrize(
    ("known", "fresh", "late"),
    [
        (("resolved", 1.0), ("firing", 1.0), True),  # the HA pair's second Alertmanager, after the resolve
        (("resolved", 1.0), ("firing", 2.0), False),  # fired again: a new startsAt
        (("firing", 2.0), ("resolved", 1.0), True),  # the older firing's resolve
        (("firing", 1.0), ("resolved", 1.0), False),  # this firing resolved
        (("firing", 2.0), ("firing", 1.0), True),  # an older firing's repeat
        (("resolved", 1.0), ("firing", None), False),  # no startsAt (a generic alert): no telling, it counts
    ],
)
def test_which_states_are_stale(known: tuple[str, float], fresh: tuple[str, float | None], late: bool) -> None:
    """By startsAt: older is stale; the same firing after its resolve is stale; without one it counts."""
    assert stale({"status": known[0], "starts_at": known[1]}, {"status": fresh[0], "starts_at": fresh[1]}) is late
