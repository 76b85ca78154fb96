"""`cause <ref>` and `suspects` in planning: references read exactly, hostile text refused inertly (hypothesis)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.changes.cause import NONE, CauseRef, CommentOnCause, RecordCause, RefKind, parse_cause
from service.events import parse_event
from service.handlers.causes import usage
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.parts import CauseNote, SuspectsPart
from service.plan import Plan, PostNote
from service.rules import RuleSet
from tests.conftest import DECLARED, DECLARED_LABELS, NOW, payload

HOSTILE = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["/close", "@all", "<script>x</script>", "[x](javascript:1)", "!0", "a/../b!1", "javascript:x"]),
    st.lists(
        st.sampled_from(["/close", "@all", "!", "12", "\n", "`", "http://x/", "grp/p!3", "<b>", "x"]), max_size=6
    ).map(" ".join),
)


def plan_for(note: str, rules: RuleSet, access: int = 40, confidential: bool = False) -> Plan:
    data = payload("note.create.incident")
    data["object_attributes"]["note"] = note
    event = parse_event(data, delivery_id="d")
    issue = Issue(1, 23, labels=frozenset(DECLARED_LABELS), confidential=confidential)
    state = IncidentState(issue=issue, memory=dict(DECLARED))
    return plan_event(event, state, rules, NOW, access=access)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("!123", CauseRef(RefKind.MERGE_REQUEST, 123)),
        ("group/project!7", CauseRef(RefKind.MERGE_REQUEST, 7, "group/project")),
        ("4711", CauseRef(RefKind.DEPLOYMENT, 4711)),
        (
            "https://gitlab.example/g/p/-/jobs/9",
            CauseRef(RefKind.DEPLOYMENT_URL, text="https://gitlab.example/g/p/-/jobs/9"),
        ),
        ("new_checkout-v2", CauseRef(RefKind.FEATURE_FLAG, text="new_checkout-v2")),
        ("None", NONE),
        ("!0", None),
        ("a/../b!1", None),
        ("Flag", None),
        ("two words", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_references_are_read_exactly(text: str, found: object) -> None:
    """Each documented form, and a few that look like one but are not."""
    assert parse_cause(text) == found


def test_cause_plans_a_record_and_its_confirmation(rules: RuleSet) -> None:
    """`cause !12`: a RecordCause for the author, the reply a CauseNote the worker fills, a timeline entry."""
    plan = plan_for("@incident-bot cause !12", rules)
    (action,) = plan.of(RecordCause)
    assert action.ref == CauseRef(RefKind.MERGE_REQUEST, 12) and action.by == "alice"
    assert plan.parts(CauseNote)
    assert plan.after is not None and "cause named by @alice: !12" in str(plan.after.memory["timeline"])
    (cleared,) = plan_for("@incident-bot cause none", rules).of(RecordCause)
    assert cleared.ref is None


def test_cause_plans_one_comment_on_the_change_unless_confidential_or_turned_off(rules: RuleSet) -> None:
    """`cause !12` and `cause 4711` plan a CommentOnCause linking the incident; a flag, `none`, a confidential
    incident and `suspects.comment_on_cause: false` plan none."""
    (comment,) = plan_for("@incident-bot cause !12", rules).of(CommentOnCause)
    assert comment.ref == CauseRef(RefKind.MERGE_REQUEST, 12) and comment.incident == "gitlabhq/gitlab-test#23"
    assert plan_for("@incident-bot cause 4711", rules).of(CommentOnCause)
    assert not plan_for("@incident-bot cause new-checkout", rules).of(CommentOnCause)
    assert not plan_for("@incident-bot cause none", rules).of(CommentOnCause)
    assert not plan_for("@incident-bot cause !12", rules, confidential=True).of(CommentOnCause)
    off = replace(
        rules, settings=replace(rules.settings, suspects=replace(rules.settings.suspects, comment_on_cause=False))
    )
    assert not plan_for("@incident-bot cause !12", off).of(CommentOnCause)


def test_suspects_replies_with_the_list_and_a_reporter_is_refused(rules: RuleSet) -> None:
    """`suspects` is a non-quiet part; below Developer, `cause` records nothing."""
    (part,) = plan_for("@incident-bot suspects", rules).parts(SuspectsPart)
    assert part.reply and not part.quiet
    assert not plan_for("@incident-bot cause !12", rules, access=20).of(RecordCause)


@settings(max_examples=200, deadline=None)
@given(rest=HOSTILE)
def test_any_reference_text_plans_a_clean_record_or_an_inert_reply(rules: RuleSet, rest: str) -> None:
    """Whatever follows `cause`: a record of a well-formed reference, or the usage with the text made inert."""
    plan = plan_for(f"@incident-bot cause {rest}", rules)
    for action in plan.of(RecordCause):
        ref = action.ref
        assert ref is None or (ref.number is None or ref.number >= 1) and "\n" not in ref.text and " " not in ref.text
        assert ref is None or ref.path is None or ".." not in ref.path
    if not plan.of(RecordCause):
        said = "\n\n".join(note.body for note in plan.of(PostNote)).replace(usage("incident-bot"), "")
        for line in said.splitlines():
            assert not line.lstrip().startswith("/"), line
        assert "@all" not in said and "<" not in said
        assert all(target.startswith("http") for target in re.findall(r"\]\(([^)]*)\)", said)), said


@given(text=st.text(max_size=300))
def test_parse_cause_never_raises(text: str) -> None:
    """Any text: None, `none`, or a reference within the index's ranges."""
    found = parse_cause(text)
    if isinstance(found, CauseRef):
        assert found.number is None or 1 <= found.number <= 2**63 - 1
