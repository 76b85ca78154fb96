"""`cause <ref>` tells the merge request: one comment linking the incident, never twice (the same cause again, a
retried delivery), never for a confidential incident, never with `suspects.comment_on_cause: false`; a deployment
named as the cause tells each merge request it carried."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from service.gitlab import TransientGitLabError
from service.store import Store
from service.worker import process_delivery
from service.worker.index import DeliveryIndex
from tests.conftest import payload
from tests.worker.helpers import cause, declare_suspects, mr_comments, seed_changes

INCIDENT = "http://gitlab.test/group/project/-/issues/23"  # the fake's issue 1#23


def test_a_merge_request_named_as_the_cause_gets_one_comment(fake, runtime, indexed: Store) -> None:
    """`cause !12`: one comment on !12 linking the incident, said in the reply; naming it again adds none."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    said = cause(fake, "!12", "c1")
    assert "Cause recorded by" in said and "Commented on !12, linking this incident." in said
    comments = mr_comments(fake, 12)
    assert len(comments) == 1
    assert comments[0].startswith("This merge request was named as the cause of incident [gitlabhq/gitlab-test#23](")
    assert "<!-- incident-bot cause-of 1#23 -->" in comments[0]
    cause(fake, "!12", "c2")
    assert len(mr_comments(fake, 12)) == 1


def test_a_retried_delivery_does_not_comment_twice(fake, runtime, indexed: Store) -> None:
    """The issue's reply fails after the merge request was told (GitLab 500s, the job fails); the retry posts the
    reply and finds the merge request's comment already there."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    fake.fail("POST", r"/projects/1/issues/23/notes", 500, times=4)  # every attempt of the session
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = "@incident-bot cause !12"
    data = json.dumps(note).encode()
    with pytest.raises(TransientGitLabError):
        process_delivery(data, {"delivery_id": "r1", "event_uuid": "r1"})
    assert len(mr_comments(fake, 12)) == 1
    assert process_delivery(data, {"delivery_id": "r1", "event_uuid": "r1"}).startswith("applied")
    assert len(mr_comments(fake, 12)) == 1
    assert "Commented on !12" in str(fake.bot_notes()[-1]["body"])


def test_a_confidential_incident_tells_no_merge_request(fake, runtime, indexed: Store) -> None:
    """A confidential incident: the cause is recorded, the merge request learns nothing."""
    fake.ship(1, 1, 12)
    declare_suspects(fake, confidential=True)
    said = cause(fake, "!12", "c1")
    assert "Cause recorded by" in said and "Commented" not in said
    assert mr_comments(fake, 12) == []
    assert not [c for c in fake.calls if "/merge_requests/12/notes" in c.path]


def test_comment_on_cause_false_tells_no_merge_request(fake, runtime, indexed: Store) -> None:
    """`suspects.comment_on_cause: false`: recorded, no comment, no call."""
    settings = runtime.rules.settings
    off = replace(settings, suspects=replace(settings.suspects, comment_on_cause=False))
    runtime.rules = replace(runtime.rules, settings=off)
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    assert "Commented" not in cause(fake, "!12", "c1")
    assert not [c for c in fake.calls if "/merge_requests/12/notes" in c.path]


def test_a_deployment_named_as_the_cause_tells_each_merge_request_it_carried(fake, runtime, indexed: Store) -> None:
    """`cause 1`: d1 carried !12 and !14 (read when the declaration listed it): each gets one comment; a flag none."""
    seed_changes(indexed)
    fake.ship(1, 1, 12)
    fake.ship(1, 1, 14)
    declare_suspects(fake)
    said = cause(fake, "1", "c1")
    assert "Commented on gitlabhq/gitlab-test!14, gitlabhq/gitlab-test!12, linking this incident." in said
    assert len(mr_comments(fake, 12)) == len(mr_comments(fake, 14)) == 1
    reads = [c for c in fake.calls if c.path == "/projects/1/deployments/1/merge_requests"]
    assert len(reads) == 1  # the declaration's read, kept: the cause asked GitLab nothing more
    assert "Commented" not in cause(fake, "new-checkout", "c2")


def mr_calls(fake) -> list[str]:
    """Every request the job made to a merge request's comments."""
    return [c.path for c in fake.calls if "/merge_requests/" in c.path and c.path.endswith("/notes")]


def test_an_unrecorded_cause_tells_no_merge_request(fake, runtime, indexed: Store) -> None:
    """`cause group/unknown!5`: the index has seen no such project, nothing is recorded, and no merge request hears of
    the incident (no comment, no call)."""
    declare_suspects(fake)
    said = cause(fake, "group/unknown!5", "c1")
    assert "nothing recorded" in said and "Commented" not in said
    assert mr_calls(fake) == []


def test_no_index_records_no_cause_and_tells_no_merge_request(fake, runtime) -> None:
    """A worker without an index records nothing, says so, and comments on no merge request."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    said = cause(fake, "!12", "c1")
    assert "keeps no incident index, so the cause is not recorded" in said and "Commented" not in said
    assert mr_calls(fake) == [] and mr_comments(fake, 12) == []


def test_an_index_down_records_no_cause_and_tells_no_merge_request(fake, runtime, indexed: Store) -> None:
    """The index will not open when the cause is named: the reply says it is not recorded, no merge request is told."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)

    def broken() -> Store:
        raise OSError("disk gone")

    runtime.index = DeliveryIndex(broken)
    said = cause(fake, "!12", "c1")
    assert "cannot be written right now, so the cause is not recorded" in said and "Commented" not in said
    assert mr_calls(fake) == [] and mr_comments(fake, 12) == []


def test_an_unreadable_comment_on_the_merge_request_is_said_not_raised(fake, runtime, indexed: Store) -> None:
    """GitLab answering a comment the bot cannot read: the cause is recorded and replied to, the merge request is
    not commented on (the bot cannot tell whether it already was), and the delivery does not fail."""
    fake.ship(1, 1, 12)
    declare_suspects(fake)
    fake.mr_notes[(1, 12)] = [{"id": "not-a-number", "body": "hi", "author": {"username": "x"}}]
    said = cause(fake, "!12", "c1")
    assert "Cause recorded by" in said and "Commented on" not in said
    assert mr_comments(fake, 12) == ["hi"]
