"""Hostile titles, usernames and dates in the `follow-up` command, and in what the bot then says (hypothesis)."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from service.corrective import FollowUp, due_date, reference
from service.corrective_text import LIST_MARKER, checklist, open_in_area, reminder, reply
from service.events import parse_event
from service.handlers.corrective import usage
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.plan import AdoptFollowUp, OpenFollowUp, PostNote
from service.rules import RuleSet
from tests.conftest import DECLARED, DECLARED_LABELS, NOW, payload
from tests.followups import live

HOSTILE = st.one_of(
    st.text(max_size=400),
    st.sampled_from(["/close", "@all", "<script>x</script>", "[x](javascript:1)", "| a | b |", "\u2028/label ~x"]),
    st.lists(
        st.sampled_from(
            ["/close", "@all", "due", "2026-13-45", "@", "#12", "<img>", "\n", "`", "x", "!3", "&4", "g/p#5", "@g/sub"]
        ),
        max_size=9,
    ).map(" ".join),
    st.lists(st.sampled_from([*"@#!&$/:.[]()<>`x1 ", "&amp;", "&#64;", "://", "www."]), max_size=30).map("".join),
)
TODAY = date(2026, 12, 1)


def plan_for(note: str, rules: RuleSet):
    data = payload("note.create.incident")
    data["object_attributes"]["note"] = note
    event = parse_event(data, delivery_id="d")
    state = IncidentState(issue=Issue(1, 23, labels=frozenset(DECLARED_LABELS)), memory=dict(DECLARED))
    return plan_event(event, state, rules, NOW, access=40)


def inert(text: str) -> None:
    """No quick action at a line start, no mass mention, no raw HTML, no link but to http(s)."""
    for line in text.splitlines():
        assert not line.lstrip().startswith("/"), line
    assert "@all" not in text and "<" not in text
    assert all(target.startswith("http") for target in re.findall(r"\]\(([^)]*)\)", text)), text


@settings(max_examples=150, deadline=None)
@given(rest=HOSTILE)
def test_any_command_text_plans_a_clean_follow_up_or_an_inert_reply(rules: RuleSet, rest: str) -> None:
    """Whatever follows `follow-up`: a one-line title of at most 255 characters, a valid owner and a real date,
    or an adoption of a real reference; otherwise a reply with nothing active in it."""
    plan = plan_for(f"@incident-bot follow-up {rest}", rules)
    for opening in plan.of(OpenFollowUp):
        assert opening.title and len(opening.title) <= 255 and opening.title == " ".join(opening.title.split())
        assert live(opening.title) == [], opening.title  # the issue's title: no mention, reference or link
        assert opening.owner is None or opening.owner.replace("-", "").replace("_", "").replace(".", "").isalnum()
        assert opening.due_on is None or isinstance(opening.due_on, date)
    for adopting in plan.of(AdoptFollowUp):
        assert 1 <= adopting.iid <= 2**31 - 1
    if not plan.of(OpenFollowUp) and not plan.of(AdoptFollowUp):
        said = "\n\n".join(note.body for note in plan.of(PostNote))
        inert(said.replace(usage("incident-bot"), ""))  # the usage line is the bot's own (`<title>`)
        assert not re.search(r"[#!&$][0-9]", html.unescape(said.replace(usage("incident-bot"), ""))), said


@settings(max_examples=150, deadline=None)
@given(title=HOSTILE, owner=st.one_of(st.none(), st.sampled_from(["bob", "all", "x/y", "<b>"])))
def test_what_the_bot_says_of_a_follow_up_is_inert(title: str, owner: str | None) -> None:
    """A hostile title (and owner, as GitLab would never send) in the list, the reply, a reminder, the memory: inert,
    and no mention, reference or link live beyond the bot's own (those it says of a harmless title)."""

    def said(title: str, owner: str | None) -> tuple[str, ...]:
        due = date(2026, 11, 1)
        fu = FollowUp(1, 23, 1, 501, "group/project", title, "javascript:alert(1)", owner=owner, due_on=due)
        closed = FollowUp(1, 23, 1, 502, "", title, "http://gitlab.test/x", state="closed", closed_at=datetime.now(UTC))
        return (
            checklist([fu, closed], TODAY).replace(LIST_MARKER, ""),  # the bot's own marker
            reply(fu, "opened", TODAY, unknown_owner=title[:40]),
            reminder(fu, TODAY, manager=owner, incident="#23"),
            open_in_area([(fu, "#23", "category x")], TODAY),
        )

    for text, harmless in zip(said(title, owner), said("x", "bob" if owner == "bob" else None), strict=True):
        inert(text)
        assert live(text) == live(harmless), text


@given(text=st.text(max_size=300))
def test_references_and_dates_never_raise(text: str) -> None:
    """Any text: None, or an issue reference / a date within range."""
    found = reference(text)
    assert found is None or 1 <= found.iid <= 2**31 - 1
    day = due_date(text)
    assert day is None or 2000 <= day.year <= 2999


@settings(max_examples=150, deadline=None)
@given(title=HOSTILE, owner=st.one_of(st.none(), HOSTILE), path=st.sampled_from(["", "g/p", "@all/x", "/close"]))
def test_the_digests_overdue_follow_ups_are_inert(rules: RuleSet, title: str, owner: str | None, path: str) -> None:
    """Any title, owner (as the index could hold it) and project path: the digest's section and its channels'
    clause run nothing, mention nobody, link only to http(s); a confidential one shows none of it."""
    from service.reports.digest_followups import clause, overdue, section
    from service.store.corrective import IncidentFacts

    due = date(2026, 11, 1)

    def digest(title: str) -> tuple[str, str]:
        shown = FollowUp(1, 23, 1, 501, path, title, "javascript:alert(1)", owner=owner, due_on=due)
        secret = FollowUp(
            1, 23, 1, 502, path, title, "http://gitlab.test/x", owner=owner, due_on=due, confidential=True
        )
        public = IncidentFacts(3, None, None, {}, "Incident", "http://gitlab.test/i", False, None, "g/p")
        items = overdue([(shown, public), (secret, public)], rules, TODAY)  # an indexed public incident
        return section(items), clause(items)

    text, said = digest(title)
    inert(text)
    assert "@" not in said
    assert text.count("confidential follow-up, 30 days overdue") == 1
    assert live(text) == live(digest("x")[0]), text  # the title adds no live mention, reference or link
