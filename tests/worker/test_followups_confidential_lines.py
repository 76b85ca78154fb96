"""A confidential follow-up in a public issue (issue 20's audit): the incident's or review's "Follow-ups" list, the
command's reply and the "no owner yet" note show it as its bare reference and "(confidential)", never its title or
owner (as the board redacts it), its ticked state still. Through the real delivery job and the overdue pass against
the fake GitLab and the index (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest
from redis import Redis

from service.ops.overdue import check_now
from service.store import Store
from tests.followups import LABEL, at, comment, declare_severity_1, issue_hook, last_reply, list_note, written

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

SECRET = "CVE-2026-9999 exploit in auth"


def confidential_follow_up(fake, *, owner: bool = True) -> dict:
    """Confidential 1#41 linked to public incident 1#23 by hand and given the label (its Issue Hook tracks it)."""
    declare_severity_1(fake)
    issue = fake.add_issue(1, 41, title=SECRET, labels=[LABEL], issue_type="issue", confidential=True)
    if owner:
        issue["assignees"] = [{"id": 8, "username": "bob"}]
    fake.link((1, 41), (1, 23))
    assert issue_hook(fake, 41, "label-1", previous=[]) == "applied: follow-up tracked"
    return issue


def test_the_public_incidents_list_shows_a_confidential_follow_up_by_reference_only(
    fake, runtime, indexed: Store
) -> None:
    """Its line: `#41 (confidential)`, unticked, with no title nor owner; closed, ticked."""
    issue = confidential_follow_up(fake)
    shown = list_note(fake)
    assert "(confidential)" in shown and "- [ ] " in shown and SECRET not in shown and "bob" not in shown
    issue.update(state="closed", closed_at="2026-12-02T15:00:00Z", updated_at="2026-12-02T15:00:00Z")
    issue_hook(fake, 41, "close-1")
    assert "- [x] " in list_note(fake) and "1 of 1 done" in list_note(fake) and SECRET not in list_note(fake)


def test_the_no_owner_yet_note_in_a_public_incident_names_no_title(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Unowned, a week after it was adopted: the note in the incident says it has no owner, by reference only."""
    confidential_follow_up(fake, owner=False)
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-05"))
    notes = [n["body"] for n in fake.bot_notes(1, 23) if "assign each to someone" in n["body"]]
    assert len(notes) == 1 and "(confidential)" in notes[0]
    assert SECRET not in written(fake, 1, 23)


def test_the_reply_in_a_public_review_names_no_title(fake, runtime, indexed: Store) -> None:
    """Confidential 1#40 adopted for confidential 1#23 from a public review linked by hand: the reply there says
    adopted, by reference only."""
    declare_severity_1(fake, confidential=True)
    fake.add_issue(1, 30, title="Review", labels=["post-incident-review"], issue_type="issue")
    fake.link((1, 30), (1, 23))
    fake.add_issue(1, 40, title=SECRET, labels=[], issue_type="issue", confidential=True)
    comment("@incident-bot follow-up #40", iid=30, incident=False, labels=("post-incident-review",), key="c1")
    reply = last_reply(fake, 30)
    assert "adopted" in reply and "(confidential)" in reply and SECRET not in written(fake, 1, 30)
    assert SECRET in list_note(fake)  # the confidential incident's own list names it
