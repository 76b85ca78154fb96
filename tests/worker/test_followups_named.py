"""A follow-up of a project outside the incident's scope is kept but never named there (issue 20's second audit): a
private project's issue given the follow-up label and linked to a public incident by hand is tracked into the index,
yet the incident's "Follow-ups" list, the "no owner yet" note and a later declaration's open corrective actions show
it by reference only, or not at all (`corrective.may_name`, the one rule). Through the real delivery job and the
overdue pass against the fake GitLab and the index (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest
from redis import Redis

from service.gitlab.history import GitLabHistory
from service.ops.overdue import check_now
from service.store import Store
from service.store.corrective import find, of_incident
from service.store.reindex import reindex
from tests.followups import LABEL, at, issue_hook, list_note, open_incident, written

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

SECRET = "CVE-2026-9999 exploit in auth"
AVAILABILITY = ["incident", "incident-category::availability"]


def private_follow_up(fake, indexed: Store, *, owner: bool = True) -> None:
    """Public incident 1#23 (availability); secretgroup/private#40, which no area shares with group/project, linked to
    it by hand and given the label: its Issue Hook tracks it, and the index keeps it (nothing is lost)."""
    open_incident(fake, 23, AVAILABILITY)
    issue = fake.add_issue(3, 40, title=SECRET, labels=[LABEL], issue_type="issue", path="secretgroup/private")
    if owner:
        issue["assignees"] = [{"id": 8, "username": "bob"}]
    fake.link((3, 40), (1, 23))
    assert issue_hook(fake, 40, "label-1", project_id=3, previous=[]) == "applied: follow-up tracked"
    assert [(r.project_id, r.iid) for r in of_incident(indexed.engine, 1, 23)] == [(3, 40)]


def test_the_incidents_list_names_a_private_projects_follow_up_by_reference_only(fake, runtime, indexed: Store) -> None:
    """The public incident's list counts it, by its reference and "(not shown here)": no title, no owner."""
    private_follow_up(fake, indexed)
    shown = list_note(fake)
    assert "0 of 1 done" in shown and "secretgroup/private#" in shown and "(not shown here)" in shown
    assert SECRET not in shown and "bob" not in shown


def test_the_no_owner_yet_note_names_no_title(fake, runtime, settings, rules, redis_conn: Redis, indexed) -> None:
    """Unowned, a week later: the note in the incident says so by reference only."""
    private_follow_up(fake, indexed, owner=False)
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-05"))
    notes = [n["body"] for n in fake.bot_notes(1, 23) if "assign each to someone" in n["body"]]
    assert len(notes) == 1 and "(not shown here)" in notes[0]
    assert SECRET not in written(fake, 1, 23)


def test_a_later_declaration_does_not_list_it(fake, runtime, indexed: Store) -> None:
    """Incident 1#24 of the same category lists no open corrective action from secretgroup/private."""
    private_follow_up(fake, indexed)
    open_incident(fake, 24, AVAILABILITY)
    said = written(fake, 1, 24)
    assert SECRET not in said and "secretgroup/private" not in said


def test_reindex_keeps_it_and_the_note_still_names_no_title(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Linked and labelled while no hook came (its project sends the bot none): reindex keeps it under 1#23, and the
    "no owner yet" note a week later names it by reference only."""
    open_incident(fake, 23, AVAILABILITY)
    fake.add_issue(3, 40, title=SECRET, labels=[LABEL], issue_type="issue", path="secretgroup/private")
    fake.link((3, 40), (1, 23))
    reindex(indexed, GitLabHistory(settings.gitlab_url, "token"), indexed.vocab, now=at("2026-11-27"))
    row = find(indexed.engine, 3, 40)
    assert row is not None and (row.incident_project_id, row.incident_iid) == (1, 23)
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-05"))
    assert any("(not shown here)" in n["body"] for n in fake.bot_notes(1, 23))
    assert SECRET not in written(fake, 1, 23)
