"""What the bot says of a change (the suspects' lines, a cause's rollback hint) is inert whatever the hooks carried."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.changes.hooks import Deployment, FlagChange
from service.changes.suspects import SuspectScope, select_suspects
from service.gitlab.changes import MergeRequest
from service.rules.settings import SuspectSettings
from service.worker.causes import rollback_hint
from service.worker.suspects import merge_request_line, render
from tests.conftest import NOW

HOSTILE = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["/close", "@all", "<script>x</script>", "[x](javascript:1)", "| a |", "\u2028/label ~x", "`"]),
    st.sampled_from(["broke group/other#5 and !7", "#12", "&3 $4", "shop/secret!9", "&#35;8"]),
)
REFERENCE = re.compile(r"[#!&$][0-9]")  # a GitLab reference, live once GitLab decodes the entities
URLS = st.one_of(
    st.text(max_size=40), st.sampled_from(["javascript:alert(1)", "http://x/a)b", "https://ok.test/-/jobs/1"])
)


def inert(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith("/"), line
    assert "@all" not in text and "<" not in text
    assert all(re.fullmatch(r"https?://[^\s()]+", t) for t in re.findall(r"\]\(([^)]*)\)", text)), text
    # No GitLab reference from a hook's text (link targets aside: the bot links only to plain http(s) URLs).
    assert not REFERENCE.search(html.unescape(re.sub(r"\]\([^)]*\)", "]", text))), text


@settings(max_examples=150, deadline=None)
@given(title=HOSTILE, user=HOSTILE, env=HOSTILE, url=URLS, flag=HOSTILE)
def test_hostile_changes_are_shown_inert(title: str, user: str, env: str, url: str, flag: str) -> None:
    """Titles, usernames, environments, job URLs and flag names from hooks: no quick action, ping, HTML or bad link."""
    at = NOW - timedelta(minutes=5)
    d = Deployment(1, "g/p", 1, "success", env, "production", url, "abc", title, user, at)
    old = Deployment(1, "g/p", 0, "success", env, "production", url, "abd", title, user, at - timedelta(hours=1))
    f = FlagChange(1, "g/p", flag, True, user, at)
    found = select_suspects(SuspectScope(1, "g/p", NOW), [d, f], SuspectSettings())
    inert(render(found))
    inert(rollback_hint(d, old))
    inert(rollback_hint(d, None))


@settings(max_examples=150, deadline=None)
@given(title=HOSTILE, author=HOSTILE, iid=st.integers(1, 10**6))
def test_a_merge_requests_reference_stays_live_beside_its_hostile_title(title: str, author: str, iid: int) -> None:
    """A carried merge request: its reference (the bot's, from GitLab) live and linked; its title and author inert."""
    url = f"https://gitlab.test/shop/checkout/-/merge_requests/{iid}"
    line = merge_request_line(MergeRequest(1, iid, title, author, None, url, f"shop/checkout!{iid}"), "area x")
    own = f"[shop/checkout!{iid}]({url})"
    assert line.startswith(own)
    inert(line.removeprefix(own))
