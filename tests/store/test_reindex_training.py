"""Reindex rebuilds the training record of closed drills from GitLab's history, as the delivery path wrote it.

The drills are played through the real delivery job (tests/store/played.py), whose last
step, `record_training`, follows each index record; then the index is dropped (or was down
for a while) and reindex reads the same history back over HTTP. `report --training` must
not tell the difference. Who held which role is worked out by hand from the rotations
(weekly IMs and SIRT, daily EOCs, from Monday 2026-01-05 09:00: on 2026-03-02 im-alice, sirt-frank, eoc-carol).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from service.gitlab.history import GitLabHistory
from service.reports.training import build_training, render
from service.rules import RuleSet
from service.rules.drills import drill_marker
from service.store import EventKind, Observation, Store, TimelineEvent
from service.store.reindex import ReindexResult, reindex
from service.store.training import TrainingRecord, held_at_close, rebuild, record, records
from tests.fakegitlab import FakeGitLab, FakeGitLabServer, history_fake
from tests.store.helpers import fresh, reindexed
from tests.store.played import PlayedBot, play_script

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, at the rotations' hand-over
NOW = datetime(2026, 3, 10, tzinfo=UTC)  # the report's generated_at
P = 3  # ops/drills
DEVELOPER = 30  # hand-offs are commands: the author needs Developer access

# (iid, scenario, closed minutes after T0, role, username): who practised what, by hand from the script below.
PRACTISED = {
    (1, "database-outage", 90, "eoc", "eoc-carol"),
    (1, "database-outage", 90, "incident-manager", "im-alice"),
    (1, "database-outage", 90, "cmoc", "cmoc-erin"),
    (1, "database-outage", 90, "incident-manager", "im-bob"),  # handed the role at 55 min
    (2, "leaked-credential", 200, "eoc", "eoc-carol"),  # its second close counts
    (2, "leaked-credential", 200, "eoc", "eoc-dave"),  # handed the role after the reopening
    (2, "leaked-credential", 200, "sirt", "sirt-frank"),  # the scenario's category is security
    (3, "third-party-degraded", 330, "eoc", "eoc-carol"),
    (3, "third-party-degraded", 330, "incident-manager", "im-alice"),  # not im-bob: handed it after the close
}


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def open_drill(h: FakeGitLab, iid: int, minutes: float, scenario: str) -> dict[str, Any]:
    """alice opens a drill of `scenario` as `incident-bot drill` would (labels, marker in the description)."""
    description = "You are told what happens.\n\n" + drill_marker(scenario)
    labels = ["incident", "drill"]
    return h.open((P, iid), t(minutes), "alice", labels, title="[DRILL] x", description=description, path="ops/drills")


def play(bot: PlayedBot) -> None:
    """Three drills closed (one twice, one reopened since), one still open, and a real incident."""
    h = bot.history
    a = (P, 1)  # severity 1 (IM and CMOC staffed), the IM hands off, closed
    bot.deliver(open_drill(h, 1, 0, "database-outage"), t(0))
    bot.deliver(h.comment(a, t(4), "bob", "Looking at the database"), t(4))
    bot.deliver(h.label(a, t(7), "alice", add=["severity::1"], remove=["severity::3"]), t(7))
    bot.deliver(h.comment(a, t(55), "alice", "@incident-bot handoff incident-manager @im-bob"), t(55))
    bot.deliver(h.close(a, t(90), "alice"), t(90))
    b = (P, 2)  # closed, reopened, the EOC handed on, closed again
    bot.deliver(open_drill(h, 2, 120, "leaked-credential"), t(120))
    bot.deliver(h.close(b, t(150), "bob"), t(150))
    bot.deliver(h.reopen(b, t(160), "bob"), t(160))
    bot.deliver(h.comment(b, t(170), "bob", "@incident-bot handoff eoc @eoc-dave"), t(170))
    bot.deliver(h.close(b, t(200), "bob"), t(200))
    c = (P, 3)  # severity 2, closed, reopened and handed on since: that hand-off waits for the next close
    bot.deliver(open_drill(h, 3, 300, "third-party-degraded"), t(300))
    bot.deliver(h.label(c, t(305), "alice", add=["severity::2"], remove=["severity::3"]), t(305))
    bot.deliver(h.close(c, t(330), "alice"), t(330))
    bot.deliver(h.reopen(c, t(340), "alice"), t(340))
    bot.deliver(h.comment(c, t(345), "alice", "@incident-bot handoff incident-manager @im-bob"), t(345))
    bot.deliver(open_drill(h, 4, 400, "database-outage"), t(400))  # still open: nobody has practised yet
    e = (P, 5)  # a real incident run by the same people: no practice
    bot.deliver(h.open(e, t(500), "alice", ["incident", "severity::1"], title="Real", path="ops/drills"), t(500))
    bot.deliver(h.close(e, t(530), "bob"), t(530))


def played(store: Store, rules: RuleSet, up: Callable[[datetime], bool] = lambda at: True) -> FakeGitLab:
    return play_script(play, history_fake(max_per_page=3), rules, store, up=up)


def practised(store: Store) -> set[tuple[int, str, float, str, str]]:
    """The training record as PRACTISED spells it (each drill's start checked against its opening)."""
    found = records(store.engine)
    starts = {1: t(0), 2: t(120), 3: t(300)}
    assert {(r.iid, r.started_at, r.project_path) for r in found} <= {(i, s, "ops/drills") for i, s in starts.items()}
    return {(r.iid, r.scenario, (r.closed_at - T0).total_seconds() / 60, r.role, r.username) for r in found}


def comparable(store: Store) -> list[tuple[Any, ...]]:
    """Every record but when it was written (which differs by construction)."""
    return comparable_rows(records(store.engine))


def comparable_rows(found: list[TrainingRecord]) -> list[tuple[Any, ...]]:
    return sorted(
        tuple(getattr(r, f) for f in TrainingRecord.__dataclass_fields__ if f != "recorded_at") for r in found
    )


def reindex_all(history: FakeGitLab, store: Store) -> ReindexResult:
    """A full reindex of `store` from the history over HTTP."""
    with FakeGitLabServer(history) as server:
        return reindex(store, GitLabHistory(server.url, "token"), store.vocab)


def training_json(store: Store, rules: RuleSet) -> str:
    """What `incident-bot report --training --format json` prints, at NOW."""
    return render(build_training(records(store.engine), rules, NOW), "json")


def test_dropping_the_index_and_reindexing_gives_the_same_training_report(
    store: Store, rules: RuleSet, database_url: str
) -> None:
    """The delivery path's training record, dropped with the index, comes back from GitLab alone: same report."""
    history = played(store, rules)
    assert practised(store) == PRACTISED  # the delivery path, as worked out by hand
    before, rows = training_json(store, rules), comparable(store)
    assert '"drills": 3' in before
    rebuilt = fresh(database_url, store)
    assert records(rebuilt.engine) == []
    result = reindex_all(history, rebuilt)
    assert (result.incidents, result.training_records) == (5, len(PRACTISED))
    assert comparable(rebuilt) == rows
    assert training_json(rebuilt, rules) == before


def test_a_drill_closed_while_the_index_was_down_is_recorded_by_reindex(store: Store, rules: RuleSet) -> None:
    """The worker's index down from 80 to 210 min (drill 1's close, all of drill 2): `reindex --since` heals it."""
    history = played(store, rules, up=lambda at: not t(80) <= at <= t(210))
    assert {p[0] for p in practised(store)} == {3}
    reindexed(history, store, since=t(80))
    assert practised(store) == PRACTISED


def test_reindex_is_idempotent_and_gitlab_decides_a_rebuilt_drills_rows(store: Store, rules: RuleSet) -> None:
    """Twice over the worker's record: the same rows; a row the drill's history does not bear out goes;
    the record of a drill GitLab no longer lists stays (practice outlives the issue)."""
    history = played(store, rules)
    rows = comparable(store)
    gone = TrainingRecord(P, "ops/drills", 99, "database-outage", "eoc-dave", "eoc", t(0), t(20), t(20))
    stale = TrainingRecord(P, "ops/drills", 1, "database-outage", "mallory", "eoc", t(0), t(90), t(90))
    record(store.engine, [gone, stale])
    reindexed(history, store)
    reindexed(history, store)
    assert comparable(store) == sorted([*rows, *comparable_rows([gone])])


def role(minutes: float, name: str, was: str, now: str) -> TimelineEvent:
    return TimelineEvent(t(minutes), EventKind.ROLE, name, was, now, "incident-bot", None, True)


def state(minutes: float, to: str) -> TimelineEvent:
    return TimelineEvent(t(minutes), EventKind.STATE, "", "", to, "alice", 7, False)


def test_who_held_a_role_at_the_last_close() -> None:
    """The last close and the participants up to it; roles changed after it are undone from the roles now."""
    events = [
        role(0, "eoc", "", "eoc-carol"),
        state(10, "closed"),
        state(12, "reopened"),
        role(15, "eoc", "eoc-carol", "eoc-dave"),
        state(20, "closed"),
        role(25, "eoc", "eoc-dave", "eoc-erin"),
        state(26, "reopened"),
        role(27, "cmoc", "", "cmoc-erin"),
    ]
    assert held_at_close(events, {"eoc": "eoc-erin", "cmoc": "cmoc-erin"}) == (
        t(20),
        [("eoc", "eoc-carol"), ("eoc", "eoc-dave")],
    )
    assert held_at_close(events[:1], {"eoc": "eoc-carol"}) == (None, [])


def test_what_a_rebuilt_drill_records_is_cut_to_the_columns_and_names_only_people(store: Store) -> None:
    """Roles and names from a history as GitLab may hold them: cut to the columns, mass mentions and non-names
    left out; a drill not in the index yet keeps its own path; an open drill or a closed real incident: nothing."""
    marker = "x " + drill_marker("database-outage")
    events = (
        role(0, "eoc", "", "all"),
        role(1, "r" * 100, "", "im-alice"),
        role(2, "cmoc", "", "not a user!"),
        state(5, "closed"),
    )
    drill = Observation(P, "ops/drills", 7, description=marker, drill=True, roles={"eoc": "@here"}, events=events)
    incident = Observation(P, "ops/drills", 8, events=events)
    still_open = Observation(P, "ops/drills", 9, description=marker, drill=True, events=events[:3])
    assert rebuild(store.engine, [drill, incident, still_open], recorded_at=t(6)) == 1
    (got,) = records(store.engine)
    assert (got.ref, got.scenario, got.username, got.role, got.started_at, got.closed_at) == (
        "ops/drills#7",
        "database-outage",
        "im-alice",
        "r" * 64,
        None,
        t(5),
    )
