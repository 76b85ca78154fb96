"""Reindex rebuilds the follow-ups (issue 20) from the incidents' linked issues, as the live tracking kept them.

The history is played through the real delivery job (commands in the incident and its review, the follow-ups'
own Issue Hooks) against the fake GitLab, which keeps the issues, their links and labels; then the index is
dropped and reindex reads it all back over HTTP. `report --follow-ups` must not tell the difference.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from service.gitlab.history import GitLabHistory
from service.reports.cli import follow_ups_text
from service.reports.corrective import GROUPINGS
from service.rules import RuleSet
from service.store import Store
from service.store.corrective import with_incidents
from service.store.reindex import ReindexResult, reindex
from service.store.reviews import reviews_of
from tests.fakegitlab import FakeGitLab, FakeGitLabServer, history_fake
from tests.store.helpers import fresh
from tests.store.played import PlayedBot, play_script

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LABEL = "corrective-action"
INCIDENT, LATER, REVIEW = (1, 10), (1, 11), (1, 70)
START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def t(days: float) -> datetime:
    return T0 + timedelta(days=days)


def made(h: FakeGitLab, title: str) -> tuple[int, int]:
    """The issue the bot opened with this title."""
    return next(key for key, issue in h.issues.items() if issue["title"] == title)


def play(bot: PlayedBot) -> None:
    """A severity 2 incident with follow-ups asked, adopted by label and link, dropped, closed, reassigned; its
    review (opened by the bot) asking one more; a severity 3 incident whose review, linked by hand, asks one, closed."""
    h = bot.history
    labels = ["incident", "severity::2", "incident::identification"]
    bot.deliver(h.open(INCIDENT, t(0), "alice", labels, title="Checkout down"), t(0))
    bot.deliver(h.comment(INCIDENT, t(0.01), "alice", "@incident-bot follow-up Add a circuit breaker @bob"), t(0.01))
    bot.deliver(h.comment(INCIDENT, t(0.02), "alice", "@incident-bot follow-up Document it due 2026-11-20"), t(0.02))
    h.open((1, 60), t(0.1), "bob", [LABEL], title="Alert on queue depth")
    h.link((1, 60), INCIDENT)
    bot.deliver(h.issue_hook((1, 60), "bob", "update", previous=[]), t(0.1))  # adopted by its label and link
    h.open((1, 61), t(0.2), "bob", [], title="A related discussion")  # linked, no label: never a follow-up
    h.link((1, 61), INCIDENT)
    h.open((1, 62), t(0.3), "bob", [LABEL], title="Not a follow-up after all")
    h.link((1, 62), INCIDENT)
    bot.deliver(h.issue_hook((1, 62), "bob", "update", previous=[]), t(0.3))
    bot.deliver(h.label((1, 62), t(0.4), "bob", remove=[LABEL]), t(0.4))  # dropped: forgotten
    bot.deliver(h.close(INCIDENT, t(1), "alice"), t(1))  # severity 2 resolved: the bot opens the review
    review = next(k for k, i in h.issues.items() if "post-incident-review" in i["labels"])
    bot.deliver(h.comment(review, t(1.1), "alice", "@incident-bot follow-up Add a canary stage @alice"), t(1.1))
    h.open((1, 63), t(1.2), "bob", [LABEL], title="Rotate the keys")
    h.link((1, 63), review)  # linked to the review only: the review's incident is followed up
    bot.deliver(h.issue_hook((1, 63), "bob", "update", previous=[]), t(1.2))
    bot.deliver(h.close(made(h, "Add a circuit breaker"), t(3), "bob"), t(3))
    bot.deliver(h.assign(made(h, "Document it"), t(4), "alice", "carol"), t(4))
    bot.deliver(h.open(LATER, t(10), "alice", ["incident", "severity::3"], title="Slow search"), t(10))
    h.open(REVIEW, t(10.05), "alice", ["post-incident-review"], title="Review of the slow search")
    h.link(REVIEW, LATER)  # a review opened and linked by hand
    bot.deliver(h.comment(REVIEW, t(10.1), "alice", "@incident-bot follow-up Add an index @bob"), t(10.1))
    bot.deliver(h.close(made(h, "Add an index"), t(12.5), "bob"), t(12.5))


def played(store: Store, rules: RuleSet) -> FakeGitLab:
    return play_script(play, history_fake(max_per_page=3), rules, store)


def reindex_all(history: FakeGitLab, store: Store) -> ReindexResult:
    with FakeGitLabServer(history) as server:
        return reindex(store, GitLabHistory(server.url, "token"), store.vocab)


def reports(store: Store, rules: RuleSet) -> dict[str, Any]:
    """`report --follow-ups --format json` over November 2026, by each grouping."""
    return {by: json.loads(follow_ups_text(store, rules, START, END, by, "json")) for by in GROUPINGS}


def rows(store: Store) -> list[tuple[Any, ...]]:
    """Every follow-up the index keeps (every field), with its incident's facts."""
    return [(*vars(fu).values(), facts) for fu, facts in with_incidents(store.engine)]


def reviews(store: Store) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """The reviews the index learnt of by their links, by incident."""
    return {incident: reviews_of(store.engine, incident) for incident in (INCIDENT, LATER)}


def test_dropping_the_index_and_reindexing_gives_the_same_follow_ups_report(
    store: Store, rules: RuleSet, database_url: str
) -> None:
    """The live tracking's follow-ups, dropped with the index, come back from the linked issues alone."""
    history = played(store, rules)
    kept = rows(store)
    assert [(fu.incident_iid, fu.title, fu.owner, fu.state) for fu, _ in with_incidents(store.engine)] == [
        (10, "Add a circuit breaker", "bob", "closed"),
        (10, "Document it", "carol", "opened"),
        (10, "Alert on queue depth", None, "opened"),
        (10, "Add a canary stage", "alice", "opened"),
        (10, "Rotate the keys", None, "opened"),
        (11, "Add an index", "bob", "closed"),
    ]
    before = reports(store, rules)
    assert before["severity"]["groups"] == {
        "2": {"open": 4, "overdue": 1, "closed": 1, "median_days_to_close": 3.0},
        "3": {"open": 0, "overdue": 0, "closed": 1, "median_days_to_close": 2.4},
    }
    learnt = reviews(store)
    assert learnt[LATER] == [REVIEW]
    rebuilt = fresh(database_url, store)
    result = reindex_all(history, rebuilt)
    assert (result.incidents, result.follow_ups) == (2, 6)
    assert rows(rebuilt) == kept
    assert reports(rebuilt, rules) == before
    assert reviews(rebuilt) == learnt  # the review linked by hand (and the bot's): their lists are kept


def test_reindexing_again_changes_nothing(store: Store, rules: RuleSet) -> None:
    """Reindex over the index the worker built, twice: the same follow-ups, reviews and report."""
    history = played(store, rules)
    kept, before, learnt = rows(store), reports(store, rules), reviews(store)
    reindex_all(history, store)
    reindex_all(history, store)
    assert rows(store) == kept and reports(store, rules) == before and reviews(store) == learnt
