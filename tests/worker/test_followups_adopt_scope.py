"""`follow-up <path>#N` adopts only an issue the incident's readers may be shown (issue 20's audit): one in a project
of the incident's scope (the suspects' admin-only rule, `worker.scope.incident_scope`; or the follow-ups' own
project, `followups.project`), and a confidential one only for a confidential incident of its own project (or one
the index already keeps for this incident). A refusal labels, dates and links nothing and says nothing of the issue
beyond what was typed: the same words as for an issue the bot cannot read, so it does not tell whether a private
issue exists. Through the real delivery job against the fake GitLab and the index (SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from service.incident import strip_memory
from service.rules import RuleSet, load_rules
from service.store import Store
from service.store.corrective import of_incident
from tests.followups import LABEL, comment, declare_severity_1, follow_up_issues, last_reply, written
from tests.rules.helpers import rules_with_area_projects

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

SECRET = "CVE-2026-9999 exploit in auth"
REFUSED = "I cannot find issue `{}` (or I may not see it), so it is not a follow-up."


def kept_in_group_other(rules: RuleSet) -> RuleSet:
    """The rules with follow-ups kept in group/other (`followups.project`)."""
    followups = replace(rules.settings.followups, project="group/other")
    return replace(rules, settings=replace(rules.settings, followups=followups))


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
    assert last_reply(fake).startswith(REFUSED.format("secretgroup/private#\u206040"))


def test_a_confidential_issue_is_refused_for_a_public_incident(fake, runtime, indexed: Store) -> None:
    """Confidential 1#40 named in public 1#23: refused with the same words, nothing of it written there."""
    declare_severity_1(fake)
    fake.add_issue(1, 40, title=SECRET, labels=[], issue_type="issue", confidential=True)
    comment("@incident-bot follow-up #40", key="c1")
    untouched(fake, indexed, (1, 40))
    assert last_reply(fake).startswith(REFUSED.format("#\u206040"))


def test_a_private_issue_and_a_missing_one_get_the_same_reply(fake, runtime, indexed: Store) -> None:
    """secretgroup/private#40 exists, #41 does not: both refusals read the same but for what was typed, so a
    Developer cannot tell which private issues exist."""
    declare_severity_1(fake)
    fake.add_issue(3, 40, title=SECRET, labels=[], issue_type="issue", path="secretgroup/private")
    comment("@incident-bot follow-up secretgroup/private#40", key="c1")
    there = strip_memory(last_reply(fake))
    comment("@incident-bot follow-up secretgroup/private#41", key="c2")
    assert strip_memory(last_reply(fake)).replace("#\u206041", "#\u206040") == there


def test_a_confidential_issue_of_the_follow_ups_project_is_refused_for_another_projects_incident(
    fake, runtime, indexed: Store
) -> None:
    """Follow-ups kept in group/other: its confidential #40 named in confidential 1#23 (another project) is refused,
    its title unsaid and its row left where it was."""
    runtime.rules = kept_in_group_other(runtime.rules)
    declare_severity_1(fake, confidential=True)
    fake.add_issue(2, 40, title=SECRET, labels=[], issue_type="issue", path="group/other", confidential=True)
    comment("@incident-bot follow-up group/other#40", key="c1")
    untouched(fake, indexed, (2, 40))
    assert last_reply(fake).startswith(REFUSED.format("group/other#\u206040"))


def test_the_confidential_incidents_own_follow_up_there_is_adopted_again(fake, runtime, indexed: Store) -> None:
    """The confidential follow-up the bot opened in group/other for confidential 1#23, named again: the index keeps it
    for this incident, so it is taken (its title in the confidential incident's reply)."""
    runtime.rules = kept_in_group_other(runtime.rules)
    declare_severity_1(fake, confidential=True)
    comment(f"@incident-bot follow-up {SECRET} @bob", key="c1")
    opened = follow_up_issues(fake)[0]
    assert opened["confidential"] and opened["project_id"] == 2
    comment(f"@incident-bot follow-up group/other#{opened['iid']}", key="c2")
    assert "adopted" in last_reply(fake) and SECRET in last_reply(fake)


def test_an_issue_of_a_project_an_area_shares_is_adopted(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """The `reliability` area (admin configuration) shares group/project and group/other: group/other#40 is adopted,
    labelled and linked."""
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[gitlabhq/gitlab-test, group/other]"))
    declare_severity_1(fake)
    fake.add_issue(2, 40, title="Harden the login", labels=[], issue_type="issue", path="group/other")
    comment("@incident-bot follow-up group/other#40", key="c1")
    assert LABEL in fake.labels(2, 40) and (2, 40) in fake.links[(1, 23)]
    assert "adopted" in last_reply(fake)
