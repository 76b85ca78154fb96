"""A drill's scorecard on close and its training record, through the real delivery job (SQLite and PostgreSQL).

The history is played with dated hooks, so every figure of the card is worked out by hand
here: times from the 09:00 start, the targets of the scenario's severity 1 (acknowledge 15,
mitigate 240, resolve 1440 minutes; a status update every 30), the scenario's phases
(identification by 10, mitigation by 30, remediation by 60 minutes).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from service.incident import strip_memory
from service.rules import RuleSet
from service.rules.drills import drill_marker
from service.store import Store
from service.store.training import records
from service.worker.index import DeliveryIndex
from tests.drillscript import DrillScript
from tests.fakegitlab import FakeGitLab
from tests.worker.helpers import on_call, send

WJ = "\u2060"


def drill_issue(fake: FakeGitLab, drill: bool = True) -> DrillScript:
    """Issue 1#23 as a database-outage drill opened by the CLI (or, `drill=False`, a real incident alike)."""
    issue = fake.issues[(1, 23)]
    issue["title"] = "[DRILL] Primary database unreachable"
    issue["description"] = "The primary stopped answering.\n\n" + drill_marker("database-outage")
    issue["labels"] = ["incident", "drill"] if drill else ["incident"]
    return DrillScript(fake, send)


def play(script: DrillScript, rules: RuleSet) -> tuple[str, str]:
    """The drill as its participants ran it; returns the Incident Manager staffed and the one it went to."""
    im = on_call(rules, "incident-managers")
    other = next(m for m in rules.rotations["incident-managers"].members if m != im)
    script.open(0)
    script.comment(4, "bob", "Looking at the database now")  # acknowledged at 4 min
    script.label(7, "alice", add=("severity::1",), remove=("severity::3",))  # severity 1 at 7 min
    script.comment(10, "bob", "@incident-bot update Primary down, failing over")  # status update at 10 min
    script.tick("identification", 2)
    script.label(25, "alice", add=("incident::mitigation",), remove=("incident::identification",))  # 25 min
    script.comment(50, "bob", "@incident-bot update Failover done, watching")  # status update at 50 min
    script.comment(55, "alice", f"@incident-bot handoff incident-manager @{other}")
    script.tick("mitigation", 1)
    script.close(90, "alice")  # post-incident (so past remediation), mitigated and resolved at 90 min
    return im, other


def scorecard(fake: FakeGitLab) -> str:
    """The scorecard the bot posted (the last comment carrying one)."""
    (note,) = [n for n in fake.bot_notes() if "## Drill scorecard" in n["body"]]
    return strip_memory(note["body"]).split("## Drill scorecard", 1)[1]


def test_closing_a_drill_posts_its_scorecard_and_records_who_held_each_role(
    fake, runtime, indexed: Store, rules: RuleSet
) -> None:
    """Every figure as worked out by hand from the history; the training record names each role's people."""
    script = drill_issue(fake)
    script_counts: dict[str, tuple[int, int]] = {}
    im, other = play_counting(script, rules, script_counts)
    card = scorecard(fake)
    ticked = script_counts["identification"][0] + script_counts["mitigation"][0]
    total = script_counts["identification"][1] + script_counts["mitigation"][1]
    assert ticked == 3 and total > 3
    rows = {line.split(" | ")[0].lstrip("| "): line for line in card.splitlines() if line.startswith("| ")}
    assert "Drill of scenario `database-outage`, 2026-11-27 09:00 – 10:30 UTC" in card
    assert "targets of severity 1 (critical), the expected severity" in card
    assert rows["Time to acknowledge"] == "| Time to acknowledge | 4 min | 15 min | met |"
    assert rows["Time to set severity 1"] == "| Time to set severity 1 | 7 min | - | reached |"
    assert rows["Time to reach identification"] == "| Time to reach identification | 0 min | 10 min | met |"
    assert rows["Time to reach mitigation"] == "| Time to reach mitigation | 25 min | 30 min | met |"
    assert rows["Time to reach remediation"] == (
        "| Time to reach remediation | 1 h 30 min | 1 h 00 min | **over by 30 min** |"
    )
    assert rows["Time to mitigate"] == "| Time to mitigate | 1 h 30 min | 4 h 00 min | met |"
    assert rows["Time to resolve"] == "| Time to resolve | 1 h 30 min | 24 h 00 min | met |"
    i_ticked, i_total = script_counts["identification"]
    m_ticked, m_total = script_counts["mitigation"]
    assert rows["Checklist items ticked"] == (
        f"| Checklist items ticked | 3 of {total} ({round(100 * 3 / total)}%) | - "
        f"| identification {i_ticked}/{i_total}, mitigation {m_ticked}/{m_total} |"
    )
    # Gaps start → 09:10 → 09:50 → close at 10:30: 10, 40 and 40 minutes against a 30-minute cadence.
    assert rows["Status updates"] == (
        "| Status updates | 2 updates, longest gap 40 min | every 30 min | 1 of 3 gaps on cadence, **2 missed** |"
    )
    eoc, cmoc = on_call(rules, "engineers-on-call"), on_call(rules, "communications")
    titles = {name: role.title for name, role in rules.roles.items()}
    assert f"{titles['incident-manager']}: @{WJ}{im} → @{WJ}{other}" in card
    assert f"{titles['eoc']}: @{WJ}{eoc}" in card and f"{titles['cmoc']}: @{WJ}{cmoc}" in card
    assert not re.search(r"(?<!\u2060)@(im|eoc|cmoc)-", card)  # names the people, pings nobody

    held = records(indexed.engine, project_id=1, iid=23)
    assert sorted((r.role, r.username) for r in held) == sorted(
        [("eoc", eoc), ("incident-manager", im), ("incident-manager", other), ("cmoc", cmoc)]
    )
    closed = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    assert {(r.scenario, r.started_at, r.closed_at, r.ref) for r in held} == {
        ("database-outage", datetime(2026, 11, 27, 9, 0, tzinfo=UTC), closed, "gitlabhq/gitlab-test#23")
    }


def play_counting(script: DrillScript, rules: RuleSet, counts: dict[str, tuple[int, int]]) -> tuple[str, str]:
    """`play`, noting each checklist's (ticked, total) as the bot last read it (before the phase is left)."""
    original = script.tick

    def tick(phase: str, n: int) -> None:
        original(phase, n)
        counts[phase] = script.checklist(phase)

    script.tick = tick  # type: ignore[method-assign]  # this one script counts as it ticks
    return play(script, rules)


def test_a_real_incident_gets_no_scorecard_and_no_training_record(
    fake, runtime, indexed: Store, rules: RuleSet
) -> None:
    """The same history without the drill label: no card, nobody recorded as having practised."""
    play(drill_issue(fake, drill=False), rules)
    assert not [n for n in fake.bot_notes() if "Drill scorecard" in n["body"]]
    assert records(indexed.engine) == []


@pytest.mark.parametrize("broken", [False, True])
def test_without_a_readable_index_the_card_says_so(fake, runtime, broken: bool) -> None:
    """No index on this worker, or one that will not open: the card explains, the close is applied."""
    if broken:

        def opener() -> Store:
            raise OSError("disk gone")

        runtime.index = DeliveryIndex(opener)
    script = drill_issue(fake)
    script.open(0)
    assert str(script.close(30, "alice")).startswith("applied")
    card = scorecard(fake)
    assert ("cannot be read right now" if broken else "keeps no incident index") in card
    assert fake.issues[(1, 23)]["state"] == "closed"


def test_the_scorecard_reads_the_scenario_from_the_issue_and_survives_an_unknown_one(
    fake, runtime, indexed: Store
) -> None:
    """A drill whose scenario the rules no longer define: no expected severity or phases, the rest of the card."""
    script = drill_issue(fake)
    fake.issues[(1, 23)]["description"] = "old drill " + drill_marker("retired-scenario")
    script.open(0)
    script.comment(3, "bob", "ack")
    script.close(20, "alice")
    card = scorecard(fake)
    assert "Drill of scenario `retired-scenario`" in card and "the highest reached severity" in card
    assert "| Time to acknowledge | 3 min |" in card and "Time to reach" not in card
    assert "Time to set severity" not in card
    assert {r.scenario for r in records(indexed.engine)} == {"retired-scenario"}


def test_the_training_record_survives_a_replayed_close(fake, runtime, indexed: Store, rules: RuleSet) -> None:
    """The close delivered again is already applied: no second card, the same records."""
    script = drill_issue(fake)
    script.open(0)
    script.close(20, "alice")
    before = records(indexed.engine)
    assert before
    data = json.loads(script._issue_hook("close", list(script.issue["labels"]), 20, "alice"))
    assert send(json.dumps(data).encode(), "Issue Hook", f"drill-23-{script.count}") == "already applied"
    assert records(indexed.engine) == before
    assert len([n for n in fake.bot_notes() if "Drill scorecard" in n["body"]]) == 1
