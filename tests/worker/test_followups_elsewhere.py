"""Follow-ups opened in another project (`settings.followups.project`) or adopted from one: full references, and a
confidential incident's name, reference and incident manager kept out of a public follow-up's issue.

Through the real delivery job and the overdue pass against the fake GitLab (group/project is project 1, the
incidents'; group/other is project 2, the follow-ups').
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from redis import Redis

from service.ops.overdue import check_now
from service.rules import RuleSet
from service.store import Store
from service.worker import process_delivery
from tests.conftest import body, payload
from tests.followups import comment, follow_up_issues, rules_with_followups_in

# The incident named by its project's path (the deliveries' `gitlabhq/gitlab-test`): `{}` before and after it.
FULL = r"incident {}[\w.-]+/[\w.-]+#23{}"
pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time


@pytest.fixture()
def rules() -> RuleSet:
    """The shipped rules, follow-ups opened in group/other."""
    return rules_with_followups_in("group/other")


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+00:00").astimezone(UTC)


def declare_severity_1(fake, *, confidential: bool = False) -> None:
    """Incident 1#23 (group/project) declared, then raised to severity 1 (im-alice staffed as incident manager)."""
    opened = json.loads(body("issue.open.incident"))
    opened["object_attributes"]["confidential"] = confidential
    fake.add_issue(1, 23, labels=["incident"], confidential=confidential)
    process_delivery(json.dumps(opened).encode(), {"delivery_id": "open-23"})
    fake.issues[(1, 23)]["labels"] = ["incident", "severity::1", "severity::3", "incident::identification"]
    data = payload("issue.update.severity")
    data["project"]["id"] = data["object_attributes"]["project_id"] = 1
    data["object_attributes"]["confidential"] = confidential
    process_delivery(json.dumps(data).encode(), {"delivery_id": "sev-1"})


def written(fake, project_id: int, iid: int) -> str:
    """Everything the bot wrote in an issue: its description when the bot opened it, and its notes."""
    issue = fake.issues[(project_id, iid)]
    return "\n".join([issue["description"], *(n["body"] for n in fake.bot_notes(project_id, iid))])


def test_a_follow_up_in_another_project_names_its_incident_in_full(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """Opened in group/other: its description and its reminder say `<group>/<project>#23`, never a bare `#23` (which
    would be group/other's own issue 23)."""
    declare_severity_1(fake)
    comment("@incident-bot follow-up Add a circuit breaker @bob due 2026-12-01", key="c1")
    (issue,) = follow_up_issues(fake)
    assert issue["project_id"] == 2 and re.search(FULL.format(r"\[", r"\]\("), issue["description"])
    check_now(settings, rules, redis_conn, store=indexed, now=at("2026-12-01"))
    (reminder,) = fake.bot_notes(2, issue["iid"])
    assert re.search(FULL.format("", " is due today"), reminder["body"]), reminder["body"]


def test_a_confidential_incidents_follow_up_is_opened_confidential(fake, runtime, indexed: Store) -> None:
    """A confidential incident's follow-up names it, so it is confidential too, in group/other as well."""
    declare_severity_1(fake, confidential=True)
    comment("@incident-bot follow-up Rotate the leaked key @bob", key="c1")
    (issue,) = follow_up_issues(fake)
    assert issue["project_id"] == 2 and issue["confidential"] is True


def test_a_public_issue_adopted_for_a_confidential_incident_is_told_nothing_of_it(
    fake, runtime, settings, rules, redis_conn: Redis, indexed: Store
) -> None:
    """group/other#40 (public) adopted for confidential 1#23: its reminders name the owner only, never the incident,
    its reference, title or manager; the escalation names the incident manager in the incident instead."""
    declare_severity_1(fake, confidential=True)
    public = fake.add_issue(2, 40, title="Harden the login", issue_type="issue", path="group/other")
    public.update(assignees=[{"id": 8, "username": "bob"}], due_date="2026-12-01")
    comment("@incident-bot follow-up group/other#40", key="c1")
    for day in ("2026-12-01", "2026-12-15"):
        check_now(settings, rules, redis_conn, store=indexed, now=at(day))
    notes = [n["body"] for n in fake.bot_notes(2, 40)]
    assert len(notes) == 2 and all(n.startswith("@bob: this follow-up is") for n in notes)
    said = written(fake, 2, 40)
    assert "#23" not in said and "im-alice" not in said and "Checkout returns 500" not in said
    assert any("@im-alice" in n["body"] and "group/other#40" in n["body"] for n in fake.bot_notes(1, 23))


def test_asked_in_a_public_review_of_a_confidential_incident_it_is_confidential(fake, runtime, indexed: Store) -> None:
    """The incident, not the review the command came from, decides: a public review linked by hand to confidential
    1#23 opens a confidential follow-up."""
    declare_severity_1(fake, confidential=True)
    fake.add_issue(1, 30, title="Review", labels=["post-incident-review"], issue_type="issue")
    fake.link((1, 30), (1, 23))
    comment(
        "@incident-bot follow-up Rotate the leaked key @bob", iid=30, incident=False, labels=("post-incident-review",)
    )
    (issue,) = follow_up_issues(fake)
    assert issue["confidential"] is True
