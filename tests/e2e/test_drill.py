"""A drill end to end through the real processes: gunicorn web, RQ worker, Redis, the fake GitLab over HTTP.

`@incident-bot drill database-outage` opens it; the scenario's injects arrive on a fast clock
(a drill minute lasts 0.05 s); the participants act, each act a dated delivery; only the
training channel's receiver hears of it; the drill is closed; the scorecard's figures equal
those worked out here by hand; the training record and `report --training` name the
participants; `report` leaves the drill out.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from service.incident import strip_memory
from service.rules import RuleSet
from service.store import IncidentRow, open_store
from service.store.training import records
from tests.conftest import ROOT, payload, test_redis_url
from tests.drillscript import DrillScript
from tests.e2e.harness import Stack, accepted, wait_until
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.e2e

SCENARIO = "database-outage"
DRILL = (1, 501)  # the fake's next issue: the one the bot opens for the drill
MINUTE_SECONDS = "0.05"
WJ = "\u2060"


@pytest.fixture()
def receivers(rules: RuleSet) -> Iterator[dict[str, HttpReceiver]]:
    """A real local receiver for every channel the rules declare."""
    found = {name: HttpReceiver() for name in rules.channels}
    yield found
    for receiver in found.values():
        receiver.close()


@pytest.fixture()
def drilling(tmp_path: Path, fake_server: FakeGitLabServer, redis_conn: Redis, receivers) -> Iterator[Stack]:
    """Web and one worker, every channel pointing at its receiver, drill minutes lasting 0.05 s."""
    channels = {f"INCIDENT_BOT_CHANNEL_{name.upper()}": r.url for name, r in receivers.items()}
    stack = Stack(
        tmp_path, fake_server.url, test_redis_url(), INCIDENT_BOT_DRILL_MINUTE_SECONDS=MINUTE_SECONDS, **channels
    )
    try:
        stack.start_web()
        stack.start_worker()
        yield stack
    finally:
        stack.stop()
        print(stack.output())


def cli(stack: Stack, *args: str) -> str:
    """`incident-bot ARGS` as an operator runs it against this stack's index; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT,
        env={k: v for k, v in stack.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def ask_for_a_drill(stack: Stack, gitlab: FakeGitLab) -> None:
    """Alice (a Maintainer) comments `@incident-bot drill database-outage` on an ordinary issue, 1#23."""
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = f"@incident-bot drill {SCENARIO}"
    note["issue"].update(type="Issue", labels=[])
    with gitlab.lock:
        gitlab.issues[(1, 23)]["issue_type"] = "issue"
    stack.wait_finished(accepted(stack.post(json.dumps(note).encode(), key="ask-drill", event="Note Hook")))


def test_a_drill_end_to_end(drilling: Stack, gitlab: FakeGitLab, receivers, rules: RuleSet, tmp_path: Path) -> None:
    """Opened by command, injects on a fast clock, run by its participants, closed: the card, record and reports."""
    ask_for_a_drill(drilling, gitlab)
    wait_until(lambda: DRILL in gitlab.issues, what="the drill issue opened")
    drill = gitlab.issues[DRILL]
    assert drill["title"].startswith("[DRILL] ") and {"incident", rules.drill_label} <= set(drill["labels"])
    index_url = f"sqlite:///{tmp_path / 'data' / 'incidents.sqlite3'}"
    declared = wait_until(
        lambda: (row := open_store(index_url).incident(*DRILL)) is not None and row.started_at and row,
        what="the drill declared and indexed",
    )
    assert isinstance(declared, IncidentRow) and declared.started_at is not None
    scenario = rules.drills[SCENARIO]

    def injects() -> list[str]:
        with gitlab.lock:
            return [n["body"] for n in gitlab.bot_notes(*DRILL) if n["body"].startswith("**Drill inject**")]

    # The scenario's last inject is due 35 drill minutes in: under two seconds of this clock.
    wait_until(lambda: len(injects()) == len(scenario.injects), what="every inject posted")
    # Quoted inert (tests/worker/test_injects.py): each reads as the scenario wrote it.
    shown = [html.unescape(body.split(": ", 1)[1]).replace("\u2060", "") for body in injects()]
    assert shown == [i.text.strip() for i in scenario.injects]

    def send(data: bytes, event: str, key: str) -> object:
        return drilling.wait_finished(accepted(drilling.post(data, key=key, event=event)))

    script = DrillScript(gitlab, send, project_id=DRILL[0], iid=DRILL[1], t0=declared.started_at)
    script.comment(4, "bob", "Looking at the database now")  # acknowledged at 4 min
    script.label(7, "alice", add=("severity::1",), remove=tuple(s.label for s in rules.severities.values()))
    script.comment(10, "bob", "@incident-bot update Primary down, failing over")  # status update at 10 min
    script.tick("identification", 2)
    identification = script.checklist("identification")
    script.label(25, "alice", add=("incident::mitigation",), remove=("incident::identification",))
    script.comment(50, "bob", "@incident-bot update Failover done, watching")  # status update at 50 min
    escalated = open_store(index_url).incident(*DRILL)
    assert escalated is not None
    im = escalated.roles["incident-manager"]  # staffed when the severity became 1
    other = next(m for m in rules.rotations["incident-managers"].members if m != im)
    script.comment(55, "alice", f"@incident-bot handoff incident-manager @{other}")
    script.tick("mitigation", 1)
    mitigation = script.checklist("mitigation")
    script.close(90, "alice")
    wait_until(drilling.idle, what="queue idle")

    # The scorecard, every figure as worked out by hand (severity 1: acknowledge 15, mitigate 240, resolve 1440,
    # an update every 30 minutes; the scenario: identification by 10, mitigation by 30, remediation by 60).
    (note,) = [n for n in gitlab.bot_notes(*DRILL) if "## Drill scorecard" in n["body"]]
    card = strip_memory(note["body"]).split("## Drill scorecard", 1)[1]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in card.splitlines() if line.startswith("| ")}
    assert f"Drill of scenario `{SCENARIO}`" in card and "targets of severity 1 (critical), the expected" in card
    assert rows["Time to acknowledge"] == "| Time to acknowledge | 4 min | 15 min | met |"
    assert rows["Time to set severity 1"] == "| Time to set severity 1 | 7 min | - | reached |"
    assert rows["Time to reach identification"] == "| Time to reach identification | 0 min | 10 min | met |"
    assert rows["Time to reach mitigation"] == "| Time to reach mitigation | 25 min | 30 min | met |"
    assert rows["Time to reach remediation"] == (
        "| Time to reach remediation | 1 h 30 min | 1 h 00 min | **over by 30 min** |"
    )
    assert rows["Time to mitigate"] == "| Time to mitigate | 1 h 30 min | 4 h 00 min | met |"
    assert rows["Time to resolve"] == "| Time to resolve | 1 h 30 min | 24 h 00 min | met |"
    ticked, total = identification[0] + mitigation[0], identification[1] + mitigation[1]
    assert ticked == 3
    assert rows["Checklist items ticked"] == (
        f"| Checklist items ticked | 3 of {total} ({round(100 * 3 / total)}%) | - "
        f"| identification {identification[0]}/{identification[1]}, mitigation {mitigation[0]}/{mitigation[1]} |"
    )
    assert rows["Status updates"] == (
        "| Status updates | 2 updates, longest gap 40 min | every 30 min | 1 of 3 gaps on cadence, **2 missed** |"
    )
    eoc = declared.roles["eoc"]
    assert f"@{WJ}{im} → @{WJ}{other}" in card and f"@{WJ}{eoc}" in card

    # Only the training channel heard of the drill.
    heard = {name: r.requests for name, r in receivers.items() if r.requests}
    assert set(heard) == {rules.training_channel}, {n: len(r) for n, r in heard.items()}
    training = [json.dumps(r.json()) for r in receivers[rules.training_channel].delivered]
    assert any("Primary database unreachable" in t for t in training)

    # The training record and `report --training` name the participants; `report` leaves the drill out.
    index = open_store(index_url)
    held = {(r.role, r.username) for r in records(index.engine, project_id=DRILL[0], iid=DRILL[1])}
    assert {("eoc", eoc), ("incident-manager", im), ("incident-manager", other)} <= held
    assert {r.scenario for r in records(index.engine)} == {SCENARIO}
    report = json.loads(cli(drilling, "report", "--training", "--format", "json"))
    practised = {p["username"] for p in report["roles"]["incident-manager"]["practised"]}
    assert practised == {im, other} and report["drills"] == 1
    assert report["rotations"]["incident-managers"]["never_practised"] == []
    assert eoc in {p["username"] for p in report["roles"]["eoc"]["practised"]}
    row = index.incident(*DRILL)
    assert row is not None and row.drill and row.state == "closed"
    assert json.loads(cli(drilling, "report", "--since", "3650d", "--format", "json"))["incidents"] == 0
