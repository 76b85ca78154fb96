"""End to end with a real Prometheus and a real Alertmanager (Debian's packages; `.ci/run` installs them).

Prometheus scrapes a metric this test flips, a rule fires, Alertmanager posts to the bot's edge with bearer
credentials, and the incident appears in the fake GitLab: once, however often Alertmanager repeats itself;
recovery comments (`on_resolved: comment`); firing again returns to the same incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis

from tests.conftest import payload, test_redis_url
from tests.e2e.alerting import (
    OPS,
    TIMEOUT,
    AlertRule,
    Gauges,
    bot_env,
    counted,
    incidents,
    monitoring,
    notes,
    skip_without_monitoring,
    write_configs,
)
from tests.e2e.harness import Stack, accepted, free_port, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer

pytestmark = pytest.mark.e2e
skip_without_monitoring()
CHECKOUT = AlertRule(
    "CheckoutBroken", "checkout_broken > 0", {"severity": "critical", "service": "search"}, "Checkout is broken"
)


@pytest.fixture()
def checkout(tmp_path: Path, fake_server: FakeGitLabServer, redis_conn: Redis) -> Iterator[tuple[Stack, Gauges]]:
    """The bot (web + worker), the gauge's metrics page, Alertmanager and Prometheus pointed at them."""
    am_port = free_port()
    stack = Stack(tmp_path, fake_server.url, test_redis_url(), **bot_env(am_port))
    stack.am_url = f"http://127.0.0.1:{am_port}"  # type: ignore[attr-defined]  # the tests' way to Alertmanager
    gauges = Gauges()
    gauges.set("checkout_broken", 1)
    try:
        stack.start_web()
        stack.start_worker()
        files = write_configs(tmp_path, [CHECKOUT], gauges, [stack.url], am_port)
        with monitoring(tmp_path, *files, am_port):
            yield stack, gauges
    finally:
        gauges.stop()
        stack.stop()


def test_a_real_alert_opens_one_incident_resolves_and_returns(
    checkout: tuple[Stack, Gauges], gitlab: FakeGitLab
) -> None:
    """Fires: one incident (ops/production, severity 1, declared); repeats: nothing more; resolves: a comment,
    still open; fires again: the same incident says so."""
    stack, gauges = checkout
    [issue] = wait_until(lambda: incidents(gitlab), timeout=TIMEOUT, what="the alert incident", describe=stack.output)
    assert issue["project_id"] == OPS and "severity::1" in issue["labels"] and issue["title"] == "Checkout is broken"
    iid = issue["iid"]
    wait_until(
        lambda: any("incident-bot" in n for n in notes(gitlab, iid)) or notes(gitlab, iid),
        timeout=TIMEOUT,
        what="the declaration comment",
        describe=stack.output,
    )
    # A repeat (repeat_interval 3s) is byte-identical: the edge answers it as a duplicate, nothing is queued.
    wait_until(lambda: counted(stack, "duplicate") >= 2, timeout=TIMEOUT, what="Alertmanager's repeats")
    assert len(incidents(gitlab)) == 1 and len(notes(gitlab, iid)) == 1, notes(gitlab, iid)
    gauges.set("checkout_broken", 0)
    resolved = wait_until(
        lambda: [n for n in notes(gitlab, iid) if "All alerts of this group have resolved" in n],
        timeout=TIMEOUT,
        what="the resolution comment",
        describe=stack.output,
    )
    assert len(resolved) == 1 and incidents(gitlab)[0]["state"] == "opened"  # on_resolved: comment
    gauges.set("checkout_broken", 1)
    wait_until(
        lambda: any(n.startswith("**Fired again**") for n in notes(gitlab, iid)),
        timeout=TIMEOUT,
        what="fired again on the same incident",
        describe=stack.output,
    )
    assert len(incidents(gitlab)) == 1


def _comment(stack: Stack, issue: dict[str, Any], text: str, key: str) -> None:
    """Alice (a Maintainer) comments `text` on the alert incident, as GitLab's Note Hook tells the bot."""
    note = payload("note.create.incident")
    note["object_attributes"].update(note=text, id=abs(hash(key)) % 10**9)
    note["issue"].update(iid=issue["iid"], labels=[{"title": x} for x in issue["labels"]], url=issue["web_url"])
    note["project"]["id"] = note["object_attributes"]["project_id"] = OPS
    stack.wait_finished(accepted(stack.post(json.dumps(note).encode(), key=key, event="Note Hook")))


def _close(stack: Stack, gitlab: FakeGitLab, iid: int) -> None:
    """A person closes the incident: the fake GitLab has it closed and sends the Issue Hook."""
    with gitlab.lock:
        gitlab.issues[(OPS, iid)]["state"] = "closed"
        issue = dict(gitlab.issues[(OPS, iid)])
    hook = payload("issue.close.incident")
    hook["object_attributes"].update(iid=iid, description=issue["description"], url=issue["web_url"], state="closed")
    hook["object_attributes"]["labels"] = hook["labels"] = [{"title": x} for x in issue["labels"]]
    hook["project"]["id"] = hook["object_attributes"]["project_id"] = OPS
    stack.wait_finished(accepted(stack.post(json.dumps(hook).encode(), key=f"close-{iid}")))


def _silences(stack: Stack) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.am_url}/api/v2/silences", timeout=5)  # type: ignore[attr-defined]  # set above
    answer.raise_for_status()
    return list(answer.json())


def test_a_silence_from_a_comment_is_active_and_expires_on_close(
    checkout: tuple[Stack, Gauges], gitlab: FakeGitLab
) -> None:
    """`@incident-bot silence 2h`: a silence in the real Alertmanager (the group's labels, by alice, the incident's
    URL), its id and end in the reply; closing the incident expires it."""
    stack, _ = checkout
    [issue] = wait_until(lambda: incidents(gitlab), timeout=TIMEOUT, what="the alert incident", describe=stack.output)
    _comment(stack, issue, "@incident-bot silence 2h", "silence-1")
    [made] = [s for s in _silences(stack) if s["status"]["state"] == "active"]
    assert made["createdBy"] == "alice" and made["comment"] == issue["web_url"]
    assert {(m["name"], m["value"]) for m in made["matchers"]} == {("alertname", "CheckoutBroken")}
    reply = [n for n in notes(gitlab, issue["iid"]) if "Silenced in Alertmanager until" in n]
    assert len(reply) == 1 and made["id"] in reply[0]
    _close(stack, gitlab, issue["iid"])
    states = {s["id"]: s["status"]["state"] for s in _silences(stack)}
    assert states == {made["id"]: "expired"}, states
