"""Staffing by username in the issue's write round (worker/staffing.py): who GitLab does not know is said in the
note; a second person GitLab Free leaves out is not "not a GitLab user"; an event without its project's path
staffs by id after the lookups, as before."""

from __future__ import annotations

import json

from service.worker import Runtime, process_delivery
from tests.conftest import payload
from tests.fakegitlab import FakeGitLab

NOT_A_USER = "is not a GitLab user"


def escalate(fake: FakeGitLab, **project: object) -> str:
    """The incident opened (staffing the engineer on call), then raised to severity 1 (the manager, the comms)."""
    process_delivery(json.dumps(payload("issue.open.incident")).encode(), {"delivery_id": "k1"})
    fake.issues[(1, 23)]["labels"].append("severity::1")
    data = payload("issue.update.severity")
    data["project"] = {**data["project"], **project}
    return process_delivery(json.dumps(data).encode(), {"delivery_id": "k2"})


def test_a_second_assignee_left_out_by_gitlab_free_is_no_unknown_user(fake: FakeGitLab, runtime: Runtime) -> None:
    """GitLab Free keeps the first assignee: the others are missing from its answer, looked up, and known."""
    fake.single_assignee = True
    escalate(fake)
    assert len(fake.issues[(1, 23)]["assignees"]) == 1
    assert NOT_A_USER not in fake.bot_notes()[-1]["body"]
    assert [c for c in fake.calls if c.path == "/users"]  # only here: the names missing from the answer


def test_a_rotation_naming_someone_gitlab_does_not_know_says_so(fake: FakeGitLab, runtime: Runtime) -> None:
    """Someone GitLab does not know is dropped from the assignees and named in the note."""
    gone = sorted(fake.users)
    for name in [n for n in gone if n.startswith(("im-", "cmoc-"))]:
        del fake.users[name]
    escalate(fake)
    note = fake.bot_notes()[-1]["body"]
    assert NOT_A_USER in note
    assignees = {a["username"] for a in fake.issues[(1, 23)]["assignees"]}
    assert assignees and all(name in fake.users for name in assignees)


def test_without_the_projects_path_staffing_goes_by_id(fake: FakeGitLab, runtime: Runtime) -> None:
    """No path to name the project in GraphQL: the ids are looked up and sent in the issue's PUT."""
    escalate(fake, path_with_namespace="")
    puts = [c for c in fake.calls if c.method == "PUT" and "assignee_ids" in (c.body or {})]
    assert puts and len(fake.issues[(1, 23)]["assignees"]) == 3
    assert NOT_A_USER not in fake.bot_notes()[-1]["body"]
