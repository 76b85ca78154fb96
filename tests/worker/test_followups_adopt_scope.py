"""`follow-up <path>#N` adopts only an issue the incident's readers may be shown (issue 20's audit): one in a project
of the incident's scope (the suspects' admin-only rule, `worker.scope.incident_scope`; or the follow-ups' own project,
`followups.project`), and not a confidential one for a public incident. A refusal labels, dates and links nothing and
says nothing of the issue beyond what was typed. Through the real delivery job against the fake GitLab and the index
(SQLite and PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.rules import load_rules
from service.store import Store
from service.store.corrective import of_incident
from tests.followups import LABEL, comment, declare_severity_1, last_reply, written
from tests.rules.helpers import rules_with_area_projects

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

SECRET = "CVE-2026-9999 exploit in auth"


def untouched(fake, indexed: Store, key: tuple[int, int]) -> None:
    """The issue got no label, no due date, no link; the incident names nothing of it and keeps no follow-up."""
    issue = fake.issues[key]
    assert LABEL not in issue["labels"] and issue.get("due_date") is None
    assert key not in fake.links.get((1, 23), []) and of_incident(indexed.engine, 1, 23) == []
    assert SECRET not in written(fake, 1, 23)


def test_an_issue_of_a_project_outside_the_incidents_scope_is_refused(fake, runtime, indexed: Store) -> None:
    """A Developer of group/project names secretgroup/private#40, a project no area shares with it: refused, the
    reply repeats only what was typed (inert) and says why in general words."""
    declare_severity_1(fake)
    fake.add_issue(3, 40, title=SECRET, labels=[], issue_type="issue", path="secretgroup/private")
    comment("@incident-bot follow-up secretgroup/private#40", key="c1")
    untouched(fake, indexed, (3, 40))
    reply = last_reply(fake)
    assert "`secretgroup/private#\u206040`" in reply and "not taken as a follow-up" in reply


def test_a_confidential_issue_is_refused_for_a_public_incident(fake, runtime, indexed: Store) -> None:
    """Confidential 1#40 named in public 1#23: refused with the same words, nothing of it written there."""
    declare_severity_1(fake)
    fake.add_issue(1, 40, title=SECRET, labels=[], issue_type="issue", confidential=True)
    comment("@incident-bot follow-up #40", key="c1")
    untouched(fake, indexed, (1, 40))
    assert "not taken as a follow-up" in last_reply(fake)


def test_an_issue_of_a_project_an_area_shares_is_adopted(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """The `reliability` area (admin configuration) shares group/project and group/other: group/other#40 is adopted,
    labelled and linked."""
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[gitlabhq/gitlab-test, group/other]"))
    declare_severity_1(fake)
    fake.add_issue(2, 40, title="Harden the login", labels=[], issue_type="issue", path="group/other")
    comment("@incident-bot follow-up group/other#40", key="c1")
    assert LABEL in fake.labels(2, 40) and (2, 40) in fake.links[(1, 23)]
    assert "adopted" in last_reply(fake)
