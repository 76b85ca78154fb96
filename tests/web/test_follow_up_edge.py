"""The edge admits what follow-ups need, and nothing more: a follow-up's Issue Hooks, `follow-up` comments anywhere."""

from __future__ import annotations

import json

from service.web.edge import Accepted, Ignored, classify
from tests.conftest import hook_headers, payload


def plain_issue(labels: list[str], previous: list[str] | None = None) -> bytes:
    data = payload("issue.update.severity")
    data["object_attributes"]["type"] = "Issue"
    data["labels"] = data["object_attributes"]["labels"] = [{"title": x} for x in labels]
    data["changes"] = {"labels": {"previous": [{"title": x} for x in (previous or labels)], "current": data["labels"]}}
    return json.dumps(data).encode()


def comment_on_plain_issue(note: str) -> bytes:
    data = payload("note.create.incident")
    data["object_attributes"]["note"] = note
    data["issue"]["labels"], data["issue"]["type"] = [], "Issue"
    return json.dumps(data).encode()


def test_a_follow_ups_issue_hooks_are_admitted_by_its_label() -> None:
    """Labelled now, or just unlabelled: admitted; a plain issue: ignored; the label is the rules' setting."""
    headers = hook_headers()
    assert isinstance(classify(headers, plain_issue(["corrective-action"])), Accepted)
    assert isinstance(classify(headers, plain_issue([], previous=["corrective-action"])), Accepted)
    assert isinstance(classify(headers, plain_issue(["bug"])), Ignored)
    assert isinstance(classify(headers, plain_issue(["fix-it"]), follow_up_label="fix-it"), Accepted)


def test_a_follow_up_comment_on_any_issue_is_admitted_other_comments_are_not() -> None:
    """`@bot follow-up ...` in a review (no incident) reaches the worker; chatter there does not."""
    headers = hook_headers("Note Hook")
    assert isinstance(classify(headers, comment_on_plain_issue("@incident-bot follow-up Add a canary")), Accepted)
    assert isinstance(classify(headers, comment_on_plain_issue("we should follow up on this")), Ignored)
