"""`cause <path>!N` stays within the incident's suspect scope, and the merge request's comment is checked against the
bot's own comments only (all of a busy merge request's, newest first), through the real job and both index backends."""

from __future__ import annotations

from pathlib import Path

from service.rules import load_rules
from service.store import Store
from service.store.changes import record
from service.text import neutralise_line
from tests.changes.helpers import deployed
from tests.rules.helpers import rules_with_area_projects
from tests.worker.helpers import cause, declare_suspects, mr_comments

MARK = "<!-- incident-bot cause-of 1#23 -->"


def test_a_merge_request_outside_the_scope_is_refused(fake, runtime, indexed: Store) -> None:
    """`cause other/secret!5`: the index has seen other/secret (one of its deployments), but no area shares it with
    this incident: refused, nothing recorded, its deployments not read, no comment; the reply quotes what was typed,
    its reference inert (no "mentioned in" on that merge request)."""
    record(indexed.engine, deployed(9, 60, project_id=2, project_path="other/secret"))
    fake.projects["other/secret"] = 2
    fake.ship(2, 9, 5, path="other/secret")
    declare_suspects(fake)
    said = cause(fake, "other/secret!5", "c1")
    assert "not a change this incident's suspects cover" in said and "nothing recorded" in said
    assert "Cause recorded" not in said and "Commented" not in said
    shown = said.split("<!--")[0]  # what GitLab renders (the memory's HTML comment renders nothing)
    assert "other/secret!5" not in shown and neutralise_line("other/secret!5") in shown
    assert mr_comments(fake, 5, project_id=2) == []
    assert not [c for c in fake.calls if c.path.startswith(("/projects/2/", "/projects/other%2Fsecret/"))]


def test_a_merge_request_of_a_shared_project_is_recorded(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """An area covering the incident's project shares other/shared: `cause other/shared!5` is recorded and commented."""
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[gitlabhq/gitlab-test, other/shared]"))
    record(indexed.engine, deployed(9, 60, project_id=2, project_path="other/shared"))
    fake.projects["other/shared"] = 2
    fake.ship(2, 9, 5, path="other/shared")
    declare_suspects(fake)
    said = cause(fake, "other/shared!5", "c1")
    assert "Cause recorded by" in said and "Commented on other/shared!5" in said  # the bot's own reference: live
    assert "merge request other/shared!5." in said
    assert len(mr_comments(fake, 5, project_id=2)) == 1


def test_a_persons_marker_does_not_stop_the_bots_comment(fake, runtime, indexed: Store) -> None:
    """A person's comment on !12 carrying the incident's marker: the bot still comments, and says so truly."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    fake.mr_notes.setdefault((1, 12), []).append(
        {"id": fake.next_id(), "body": f"lol {MARK}", "author": fake.user("mallory"), "system": False,
         "created_at": "2026-12-05T09:00:00Z"}
    )  # fmt: skip
    said = cause(fake, "!12", "c1")
    assert "Commented on !12" in said
    bots = [n for n in fake.mr_notes[(1, 12)] if n["author"]["username"] != "mallory"]
    assert len(bots) == 1 and MARK in bots[0]["body"]


def test_a_busy_merge_request_is_not_commented_on_twice(fake, runtime, indexed: Store) -> None:
    """The bot's comment on !12 is followed by 250 people's comments: naming the cause again finds it (past the first
    page) and posts none."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    assert "Commented on !12" in cause(fake, "!12", "c1")
    for n in range(250):
        fake.mr_notes[(1, 12)].append(
            {"id": fake.next_id(), "body": f"comment {n}", "author": fake.user("dev"), "system": False,
             "created_at": "2026-12-05T10:00:00Z"}
        )  # fmt: skip
    said = cause(fake, "!12", "c2")
    assert "Commented on !12" in said
    assert sum(MARK in body for body in mr_comments(fake, 12)) == 1
