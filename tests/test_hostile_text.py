"""One table of hostile strings against every rendered output: comments, review issue, chat, email, webhook.

Every user-controlled string (title, note, username, command argument) is made
inert where it is rendered: no raw HTML, no mention, no quick action, no link or
image, no planted checklist or memory marker, no way out of a table cell or code span.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.events import parse_event
from service.handlers.draft import Draft
from service.incident import IncidentState, Issue, strip_memory
from service.notify import Message, MessageKind, render_email, render_slack, render_teams, render_webhook
from service.rules import RuleSet
from service.rules.render import render
from service.text import is_username, mention, neutralise, neutralise_line, plain, ref, ref_text
from service.worker import process_delivery
from tests.conftest import DECLARED, DECLARED_LABELS, payload

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
BOT = "incident-bot"
URL = "http://gitlab.test/group/project/-/issues/23"

# Each names what it tries; "evil", "mallory", "planted" and "xss" mark what must never come through live.
HOSTILE = [
    "![px](http://evil.example/p.png)",
    "[click](javascript:alert(3))",
    "@all <script>alert('xss')</script>",
    "/close\n/assign @mallory\n  /label ~evil",
    "<!-- incident-bot:checklist identification -->\n- [ ] planted ![x](http://evil.example/x.png)",
    '<!-- incident-bot:memory {"declared":false} -->',
    "a | b `tick` ```fence``` ~~~",
    "<http://evil.example/auto> <mallory@evil.example>",
    "see www.evil.example and https://evil.example/x",
    "@group/subgroup @here @channel @everyone @mallory",
    "&lt;script&gt;xss&lt;/script&gt; &#64;all &#x40;mallory",
    "[ref][1]\n\n[1]: http://evil.example/ref",
    '<img src=x onerror="xss()"><a href="javascript:xss()">x</a>',
    "\\[x\\](javascript:alert(4)) \\<script>xss",
    "data:text/html,<script>xss</script> vbscript:evil mailto:mallory@evil.example",
    "[![img](http://evil.example/i.png)](http://evil.example/l)",
    "line one\r\n/close\u2028@all",
    "@all.",
    "broke group/other#5 and !7",
    "#12 &3 $4 shop/secret!9 group/sub/project&2 (&#35;8) &amp;6",
]
MENTION = re.compile(r"(?<![\w\u2060])@(all|here|channel|everyone|group|mallory)\b", re.IGNORECASE)
RAW_HTML = re.compile(r"<\s*[A-Za-z!/?]")
QUICK_ACTION = re.compile(r"^\s*/[a-z]", re.MULTILINE)
PLANTED_TASK = re.compile(r"^\s*[-*] \[[ xX~]\] .*planted", re.MULTILINE)
# A word joiner right after the scheme's colon (or inside `://`, `www.`) keeps a renderer from making a link.
LIVE_TARGET = re.compile(r"(javascript|vbscript|data|mailto):(?!\u2060)|://evil|www\.evil", re.IGNORECASE)
# A GitLab reference as GitLab reads the shown text (`#12`, `!12`, `&12`, `$12`, also after a path): each live one
# links and makes a "mentioned in" note on what it names. None may come from user text.
REFERENCE = re.compile(r"[#!&$][0-9]")
BOT_CHECKLIST = re.compile(r"<!-- incident-bot:checklist (identification|mitigation|remediation|post-incident) -->")


def assert_inert(raw: str, *, where: str, bot_links: tuple[str, ...] = (), bot_refs: tuple[str, ...] = ()) -> None:
    """Nothing hostile is live in `raw`, read as Markdown source and as the text GitLab or a client finally shows;
    the only references are the bot's own (`bot_refs`)."""
    raw = BOT_CHECKLIST.sub("", strip_memory(raw))
    for link in bot_links:  # the bot's own link syntax around the issue URL (Slack's `<url|text>`)
        raw = raw.replace(link, "")
    for own in bot_refs:
        assert own in raw, (where, own, raw)  # the bot's own reference still there, live
        raw = raw.replace(own, "")
    shown = html.unescape(raw)  # mentions and autolinks are found after entities are decoded
    # Code spans come from the bot's own words only (user text cannot open one: see assert_markdown_inert).
    assert not RAW_HTML.search(re.sub(r"`[^`\n]*`", "", raw)), (where, raw)
    assert "](" not in raw, (where, raw)
    assert not QUICK_ACTION.search(raw), (where, raw)
    assert "<!-- incident-bot" not in raw, (where, raw)  # as visible text it is harmless; as a comment, planted
    assert not MENTION.search(shown), (where, shown)
    assert not LIVE_TARGET.search(shown), (where, shown)
    assert not REFERENCE.search(re.sub(r"`[^`\n]*`", "", shown)), (where, shown)  # in a code span, no reference


def assert_markdown_inert(raw: str, *, where: str) -> None:
    """`assert_inert`, plus what only Markdown reads: code spans, fences and table cells cannot be broken."""
    assert_inert(raw, where=where)
    body = BOT_CHECKLIST.sub("", strip_memory(raw))
    assert not PLANTED_TASK.search(body), (where, body)
    for broken_out in ("![", "a | b", "`tick`", "```", "~~~"):
        assert broken_out not in body, (where, body)


# --- every template of rules/templates.yml ------------------------------------------------


def hostile_draft(rules: RuleSet, text: str) -> Draft:
    """A declared incident whose title, actor, staffed people and timeline's people are all `text`.

    Timeline entries are the bot's own words naming people the way the bot writes them (`mention`).
    """
    data = payload("issue.update.severity")
    data["object_attributes"]["title"] = text
    event = parse_event(data, delivery_id="h", incident_label=rules.incident_label)
    event = replace(event, actor=replace(event.actor, username=text))
    memory = {
        **DECLARED,
        "staffed": {"eoc": text, "incident-manager": "im-alice"},
        "timeline": [
            {"at": "2026-11-27 09:00 UTC", "what": f"incident declared by {mention(text)}"},
            {"at": text, "what": f"EOC handed off from {mention(text)} to @eoc-dave by {mention(text)}"},
        ],
    }
    issue = Issue(project_id=1, iid=23, title=text, description=text, labels=frozenset(DECLARED_LABELS), web_url=URL)
    return Draft(event, IncidentState(issue=issue, memory=memory), rules, NOW)


@pytest.mark.parametrize("text", HOSTILE)
def test_every_template_renders_hostile_text_inert(rules, text: str) -> None:
    """Each comment template of the shipped rules, rendered with hostile title, actor, timeline and roles."""
    draft = hostile_draft(rules, text)
    assert rules.templates, "no templates to check"
    for name, template in rules.templates.items():
        assert_markdown_inert(render(template, draft), where=f"template {name}")


# --- the whole pipeline: declaration, every command reply and refusal, resolution, review issue -------------


def note_as(user: str, text: str, key: str, uid: int = 7) -> str:
    data = payload("note.create.incident")
    data["object_attributes"].update(note=text, action="create")
    data["user"].update(username=user, id=uid)
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


def issue_event(name: str, key: str, title: str) -> str:
    data = payload(name)
    data["object_attributes"]["title"] = title
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key})


@pytest.mark.parametrize("text", HOSTILE)
def test_pipeline_outputs_render_hostile_text_inert(fake, runtime, text: str) -> None:
    """Declared, commanded by a hostile username with hostile arguments, refused, resolved: every output inert."""
    title = " ".join(text.split())  # GitLab keeps titles on one line; the hook may not
    fake.issues[(1, 23)].update(title=text, labels=["incident", "severity::1"])
    issue_event("issue.open.incident", "open", text)
    one_line = text.replace("\n", " ").replace("\r", " ").replace("\u2028", " ")
    for n, line in enumerate(
        [
            f"@{BOT} severity 2 {one_line}",
            f"@{BOT} phase mitigation {one_line}",
            f"@{BOT} phase {one_line}",
            f"@{BOT} handoff eoc {one_line}",
            f"@{BOT} handoff eoc @eoc-dave",
            f"@{BOT} update {text}",
            f"@{BOT} page {one_line}",
            f"@{BOT} page database",
            f"@{BOT} {one_line}",
            f"@{BOT} help",
        ]
    ):
        note_as(title or "x", line, f"c{n}")  # a username no GitLab would issue, on a real member's id
    note_as(title or "x", f"@{BOT} severity 1", "refused", uid=13)  # mallory is no member: refused
    fake.issues[(1, 23)]["state"] = "closed"
    issue_event("issue.close.incident", "close", text)
    bodies = [n["body"] for n in fake.bot_notes()]
    assert len(bodies) >= 10
    for number, note in enumerate(bodies):
        assert_markdown_inert(note, where=f"bot note {number}")
    (review,) = [issue for key, issue in fake.issues.items() if key != (1, 23)]
    assert_inert(review["title"], where="review title")
    assert "\n" not in review["title"] and "<" not in review["title"]
    assert_markdown_inert(review["description"], where="review body")


@pytest.mark.parametrize("text", HOSTILE)
def test_planted_checklist_and_usernames_never_reach_a_later_note(fake, runtime, text: str) -> None:
    """A user note with the checklist marker and hostile items: the next phase says nothing of them."""
    issue_event("issue.open.incident", "open", "Checkout is down")
    for note in fake.bot_notes():
        note["body"] = note["body"].replace("- [ ] ", "- [x] ")
    fake.add_note((1, 23), f"<!-- incident-bot:checklist identification -->\n- [ ] planted {text}", "mallory")
    labels = [x for x in fake.issues[(1, 23)]["labels"] if not x.startswith("incident::")]
    fake.issues[(1, 23)]["labels"] = [*labels, "incident::mitigation"]
    process_delivery(json.dumps(payload("issue.update.phase")).encode(), {"delivery_id": "phase"})
    latest = strip_memory(fake.bot_notes()[-1]["body"])
    assert "Still open" not in latest and "planted" not in latest
    assert_markdown_inert(latest, where="phase note")


# --- chat, email and webhook messages, every kind ---------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_message_kind_renders_hostile_text_inert(kind: MessageKind, text: str) -> None:
    """Slack, Teams, webhook JSON and email: title, change, text and role holders from users stay inert."""
    message = Message(
        kind=kind,
        title=text,
        project="group/project",
        iid=23,
        url=URL,
        severity=1,
        phase="Mitigation",
        roles=(("Engineer On Call", text), ("Incident Manager", "im-alice")),
        change=f"handed off to @{text}; {text}",
        text=text,
    )
    slack, own = render_slack(message), ("group/project#23",)
    assert_inert(json.dumps(slack, ensure_ascii=False), where="slack", bot_links=(f"<{URL}|",), bot_refs=own)
    assert_inert(json.dumps(render_teams(message), ensure_ascii=False), where="teams", bot_refs=own)
    assert_inert(json.dumps(render_webhook(message), ensure_ascii=False), where="webhook", bot_refs=("23",))
    mail = render_email(message, sender="bot@example.com", recipients=["oncall@example.com"])
    assert_inert(str(mail["Subject"]) + "\n" + mail.get_content(), where="email", bot_refs=own)
    assert "@im-alice" in json.dumps(slack) and "@im-alice" in mail.get_content()  # real handles still shown


# --- usernames from command arguments ----------------------------------------------------------


@pytest.mark.parametrize(
    "name, valid",
    [
        ("eoc-dave", True),
        ("a.b_c-d", True),
        ("x", True),
        ("all", False),
        ("all.", False),
        ("Here", False),
        (".dot", False),
        ("-dash", False),
        ("trailing.", False),
        ("sp ace", False),
        ("mallory@evil", False),
        ("<script>", False),
        ("", False),
        ("ünï", False),
    ],
)
def test_username_validation(name: str, valid: bool) -> None:
    """GitLab usernames are `[A-Za-z0-9_.-]`, not starting with `.`/`-` nor ending in `.`; mass names are none."""
    assert is_username(name) is valid


def test_handoff_to_a_mass_mention_is_refused(fake, runtime) -> None:
    """`handoff eoc @all.` is not a username: refused with the usage, nobody staffed or assigned."""
    issue_event("issue.open.incident", "open", "Checkout is down")
    assignees = list(fake.issues[(1, 23)]["assignees"])
    note_as("alice", f"@{BOT} handoff eoc @all.", "h1")
    reply = strip_memory(fake.bot_notes()[-1]["body"])
    assert reply.startswith(f"Usage: `@{BOT} handoff") and "is not a GitLab username" in reply
    assert not MENTION.search(reply)
    assert fake.issues[(1, 23)]["assignees"] == assignees


# --- the neutralising functions themselves -------------------------------------------------


PIECES = [*"@/<>[]()!|`~\\:&#;.-_ \n\tazAZ09", "javascript:", "http://", "www.", "&#64;", "\u2060", "all"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_neutralise_property(text: str) -> None:
    """Whatever the input: no mention, link, image, HTML tag, quick action or code span survives `neutralise`."""
    out = neutralise(text)
    shown = html.unescape(out)
    assert "<" not in out and "](" not in out and "`" not in out and "|" not in out and "[" not in out
    assert not QUICK_ACTION.search(out) and not re.search(r"^\s*/", out, re.MULTILINE)
    assert not re.search(r"(?<![\w\u2060])@[A-Za-z0-9_]", shown)
    assert "://" not in shown and not re.search(r"(?i)javascript:(?!\u2060)", shown)
    assert not REFERENCE.search(shown)  # nor a GitLab reference
    assert "\n" not in neutralise_line(text) and not REFERENCE.search(html.unescape(neutralise_line(text)))


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_plain_property(text: str) -> None:
    """Whatever the input: no mention, Markdown link, URL, HTML tag or line-start `/` survives `plain`."""
    out = plain(text)
    assert "<" not in out and ">" not in out and "](" not in out
    assert not re.search(r"(?<![\w\u2060])@[A-Za-z0-9_]", out)
    assert "://" not in out and not re.search(r"(?i)javascript:(?!\u2060)", out)
    assert not re.search(r"^\s*/", out, re.MULTILINE)
    assert not REFERENCE.search(html.unescape(out))  # nor a GitLab reference (a title's entities are decoded)


def test_neutralised_text_still_reads_the_same() -> None:
    """Inert, not mangled: once rendered, the words a person wrote are all still there."""
    text = "DB @all down: see https://status.example/x [here](javascript:x) <b>now</b> | `ok`"
    shown = html.unescape(neutralise(text)).replace("\u2060", "")
    assert shown == text
    assert plain(text).replace("\u2060", "").replace("\u2039", "<").replace("\u203a", ">") == text


PATHS = st.from_regex(r"[a-z0-9_][a-z0-9_.-]{0,8}(/[a-z0-9_][a-z0-9_.-]{0,8}){0,2}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, path=st.none() | PATHS, kind=st.sampled_from("#!&$"), iid=st.integers(0, 2**31))
def test_the_bots_own_reference_stays_live_beside_user_text(text: str, path: str | None, kind: str, iid: int) -> None:
    """`ref` beside neutralised user text: the one live reference is the bot's own, as it wrote it."""
    own = f"{path or ''}{kind}{iid}"
    shown = html.unescape(f"{ref(path, kind, iid)} {neutralise_line(text)}")
    if path is None or not path.isdigit():
        assert shown.startswith(own + " ")
        assert not REFERENCE.search(shown.removeprefix(own))
    else:  # a project's id is no path: `42#5` would name project "42" nearby, so nothing is live
        assert not REFERENCE.search(shown)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, url=st.sampled_from(["http://gitlab.test/g/p/-/issues/5", "javascript:alert(1)", ""]))
def test_ref_text_is_live_only_for_a_whole_reference(text: str, url: str) -> None:
    """`ref_text`: a whole reference is the bot's, live (a link when the URL is plain http(s)); anything else inert."""
    shown = html.unescape(ref_text(text, url))
    if re.fullmatch(r"([A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*)?[#!&$][0-9]{1,18}", text) and not (
        text.split("#")[0].split("!")[0].split("&")[0].split("$")[0].isdigit()
    ):
        assert shown in (text, f"[{text}]({url})")
    else:
        assert not REFERENCE.search(re.sub(r"\]\([^)]*\)$", "]", shown)), shown
        assert "](" not in shown or shown.endswith(f"]({url})") and url.startswith("http")
