"""Reindex from the fake GitLab over HTTP gives the index the deliveries built; it is idempotent and frugal."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pytest

from service.gitlab import GitLabError
from service.reports import GroupBy, contract, report_from_store
from service.rules import RuleSet
from service.store import Store
from tests.fakegitlab import FakeGitLab, history_fake
from tests.store.helpers import fresh, reindexed
from tests.store.history_script import T0, play
from tests.store.played import play_script

IGNORED = {"id", "updated_at"}  # the row id and when the index learned it differ by construction
TARGETS = {1: {"acknowledge_minutes": 15, "mitigate_minutes": 240, "resolve_minutes": 1440}}


def snapshot(store: Store) -> dict[tuple[int, int], dict[str, Any]]:
    """Every incident's row and timeline, in comparable form."""
    out = {}
    for row in store.incidents():
        facts = {k: v for k, v in asdict(row).items() if k not in IGNORED}
        events = sorted((*e.key(), e.actor_id, e.by_bot) for e in store.timeline(row.project_id, row.iid))
        out[(row.project_id, row.iid)] = {"facts": facts, "events": events}
    return out


def played(store: Store, rules: RuleSet, per_page: int = 3) -> FakeGitLab:
    """The scripted history delivered to the bot, which records into `store`."""
    history = history_fake(max_per_page=per_page)
    play_script(play, history, rules, store)
    return history


def test_reindex_gives_the_index_the_deliveries_built(store: Store, rules: RuleSet, database_url: str) -> None:
    """The same history, once as deliveries and once read back from GitLab (pages of 3), yields equal indexes."""
    history = played(store, rules)
    built = snapshot(store)
    assert len(built) == 9
    rebuilt = fresh(database_url, store)
    assert rebuilt.count() == 0
    assert reindexed(history, rebuilt) == 9
    assert snapshot(rebuilt) == built


def test_dropping_the_index_and_reindexing_gives_the_same_report(
    store: Store, rules: RuleSet, database_url: str
) -> None:
    """The report is the same before and after the index is dropped and rebuilt from GitLab."""
    history = played(store, rules)
    window: dict[str, Any] = {
        "start": datetime(2026, 3, 1, tzinfo=UTC),
        "end": datetime(2026, 4, 1, tzinfo=UTC),
        "targets": TARGETS,
        "now": datetime(2026, 3, 3, tzinfo=UTC),
    }
    before = {by: contract(report_from_store(store, by=by, **window)) for by in GroupBy}
    assert before[GroupBy.SEVERITY]["incidents"] == 8  # the drill is left out
    rebuilt = fresh(database_url, store)
    reindexed(history, rebuilt)
    assert {by: contract(report_from_store(rebuilt, by=by, **window)) for by in GroupBy} == before


def test_reindex_twice_changes_nothing(store: Store, rules: RuleSet) -> None:
    """Reindex is idempotent: a second run over an index it built (or the worker built) leaves it equal."""
    history = played(store, rules)
    built = snapshot(store)
    reindexed(history, store)
    reindexed(history, store)
    assert snapshot(store) == built


def test_at_most_six_calls_per_incident_plus_pagination(store: Store, rules: RuleSet) -> None:
    """Per incident: label events, state events, notes, its links (its follow-ups: none here), and the review
    issue's state and links when there is one."""
    history = played(store, rules, per_page=100)
    history.calls.clear()
    reindexed(history, store)
    calls = Counter(c.path for c in history.calls)
    incidents = store.incidents()
    reviews = {r.review_url.rsplit("/", 1)[1] for r in incidents if r.review_url}
    assert len(reviews) == 4  # closed at severity 1-2: incident 1, the drill, blips 5 and 9
    budget: Counter[str] = Counter()
    for row in incidents:
        base = f"/projects/{row.project_id}/issues/{row.iid}"
        for what in ("resource_label_events", "resource_state_events", "notes", "links"):
            assert calls[f"{base}/{what}"] == 1, (base, what)
            budget[base] += 1
        if row.review_url:
            review = f"/projects/{row.project_id}/issues/{row.review_url.rsplit('/', 1)[1]}"
            assert calls[review] == calls[f"{review}/links"] == 1
            budget[base] += 2
    assert max(budget.values()) <= 6
    assert calls["/issues"] == 2  # the two listings (incident label, type Incident), one page each
    assert sum(calls.values()) == 2 + sum(budget.values())


def test_since_rebuilds_only_incidents_updated_since(store: Store, rules: RuleSet) -> None:
    """`--since` asks GitLab for incidents updated after the moment (updated_after) and rebuilds those."""
    history = played(store, rules)
    assert reindexed(history, store, since=datetime(2026, 3, 2, 15, 0, tzinfo=UTC)) == 5
    assert reindexed(history, store, since=T0.replace(year=2027)) == 0


def test_an_unknown_project_is_a_clear_error(store: Store, rules: RuleSet) -> None:
    """A project GitLab does not know stops the reindex with the call that failed, not a traceback."""
    history = played(store, rules)
    with pytest.raises(GitLabError, match=r"GET /projects/nope%2Fnothing/issues: GitLab answered 404"):
        reindexed(history, store, project="nope/nothing")


def test_a_full_reindex_forgets_what_is_no_longer_an_incident(store: Store, rules: RuleSet) -> None:
    """The incident label removed in GitLab: a full reindex drops the incident; a `--since` pass prunes nothing."""
    history = played(store, rules)
    history.label((1, 5), T0.replace(day=3), "erin", remove=["incident"])  # the edge passes no such delivery
    assert reindexed(history, store, since=T0.replace(day=3)) == 0
    assert store.incident(1, 5) is not None
    assert reindexed(history, store) == 8
    assert store.incident(1, 5) is None and store.count() == 8
