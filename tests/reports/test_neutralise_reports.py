"""Hostile titles in what the bot writes from the index: the Markdown report, the digest, CSV (service.text's policy).

The Markdown goes into GitLab issues (the digest's, one pasted by hand), so a title must not bring a live link,
image, HTML tag (an unclosed `<details>` hides the rest of the issue), mention or quick action. CSV opens in
spreadsheets, so a cell must not start a formula (OWASP: `= + - @`, tab, carriage return get a `'` first).
"""

from __future__ import annotations

import csv
import functools
import html
import io
import itertools
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import shipped_rules_dir
from service.reports.digest import compose
from service.reports.figures import GroupBy, report_from_store
from service.reports.formats import Format, render
from service.reports.targets import targets_from_rules
from service.reports.training import Practice, RoleTraining, RotationTraining, TrainingReport
from service.reports.training import to_csv as training_csv
from service.rules import RuleSet, load_rules
from service.store import EventKind, Observation, Store, TimelineEvent, open_store
from service.store.similar import similar
from service.text import csv_cell, neutralise_line
from service.worker.similar import render as render_similar

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)
HOSTILE = [
    "![x](http://evil/x.png)",
    "[click](http://evil)",
    "[click]: http://evil",
    "<details>",
    "<img src=x onerror=alert(1)>",
    "<!--",
    "<script>",
    "@all",
    "@here",
    "&#64;all",
    "\n/close\n",
    "/close",
    "\r/label ~x",
    "|",
    "`",
    "\\",
    "www.evil.example",
    "javascript:alert(1)",
    "<http://evil>",
    '=HYPERLINK("http://evil")',
    "+1",
    "-2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "#12",
    "!7",
    "group/other#5",
    "shop/secret!9",
    "&3 $4",
]
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)
TITLES = st.lists(st.sampled_from(HOSTILE) | TEXT, min_size=1, max_size=6).map("".join)
FORMULA = tuple("=+-@\t\r")

# What makes Markdown live in GitLab; none of it is in the report's own text, so none may come from a title.
LIVE = {
    "HTML tag or comment": re.compile(r"<[A-Za-z!/?]"),
    "link, image or reference": re.compile(r"[\[\]]"),
    "autolink": re.compile(r"(?i)://|www\."),
    "scheme": re.compile(r"(?i)\b(?:javascript|vbscript|data|file|mailto)\s*:(?!\u2060)"),
    "mention": re.compile(r"@[A-Za-z0-9_]"),
    "mention as an entity": re.compile(r"&#(?:64|x40);", re.IGNORECASE),
    "quick action": re.compile(r"^\s*/", re.MULTILINE),
}
# A GitLab reference as GitLab reads the shown text: only the bot's own (`shop/checkout#12`, each incident's) may be.
REFERENCE = re.compile(r"[#!&$][0-9]")
BOT_REFERENCE = re.compile(r"(?<![\w/.-])shop/checkout#[0-9]+\b")


@functools.cache
def shipped() -> RuleSet:
    """The shipped rules (not a fixture: hypothesis would print the whole RuleSet with every failing example)."""
    return load_rules(shipped_rules_dir())


@pytest.fixture(scope="module")
def index() -> Iterator[Store]:
    """One SQLite index for the module (hypothesis runs many examples against it; iids never repeat)."""
    store = open_store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='neutralise-')) / 'incidents.sqlite3'}")
    yield store
    store.engine.dispose()


_iids = itertools.count(1)


def record(store: Store, title: str, category: str, url: str | None = None) -> str:
    """An open severity 2 incident started an hour before NOW; its reference."""
    iid = next(_iids)
    start = NOW - timedelta(hours=1)
    store.record(
        Observation(
            project_id=1,
            project_path="shop/checkout",
            iid=iid,
            title=title,
            url=url if url is not None else f"https://gitlab.example/shop/checkout/-/issues/{iid}",
            issue_type="incident",
            category=category,
            severity=2,
            created_at=start,
            observed_at=NOW,
            events=(TimelineEvent(start, EventKind.SEVERITY, "", "", "2", "alice", 7),),
        )
    )
    return f"shop/checkout#{iid}"


def assert_inert(markdown: str) -> None:
    for what, pattern in LIVE.items():
        found = pattern.search(markdown)
        assert found is None, f"live {what} {found.group(0)!r} in:\n{markdown}"
    found = REFERENCE.search(BOT_REFERENCE.sub("", html.unescape(markdown)))
    assert found is None, f"live reference {found.group(0)!r} in:\n{markdown}"


def report(store: Store, rules: RuleSet, by: GroupBy, fmt: Format) -> str:
    targets = targets_from_rules(rules)
    found = report_from_store(store, start=NOW - timedelta(days=1), end=NOW, by=by, targets=targets, now=NOW)
    return render(found, fmt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(TITLES, min_size=1, max_size=3), category=TITLES)
def test_hostile_titles_are_inert_in_the_markdown_report_and_the_digest(
    index: Store, titles: list[str], category: str
) -> None:
    """`report --format md` (by category too) and the digest's issue body: each title shown, nothing of it live."""
    rules = shipped()
    refs = [record(index, title, category) for title in titles]
    by_severity = report(index, rules, GroupBy.SEVERITY, Format.MD)
    by_category = report(index, rules, GroupBy.CATEGORY, Format.MD)
    digest = compose(index, rules, NOW).markdown
    for markdown in (by_severity, by_category, digest):
        assert_inert(markdown)
        for ref, title in zip(refs, titles, strict=True):
            assert f"{ref} {neutralise_line(title)}" in markdown  # the bot's reference live, the title inert


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(category=TITLES)
def test_no_csv_cell_of_the_report_starts_a_formula(index: Store, category: str) -> None:
    """`report --format csv --by category`: a category (from a label) starting with `=` is a `'`-prefixed text cell."""
    rules = shipped()
    record(index, "Checkout down", category)
    rows = list(csv.reader(io.StringIO(report(index, rules, GroupBy.CATEGORY, Format.CSV))))
    cells = [cell for row in rows for cell in row]
    assert all(not cell.startswith(FORMULA) for cell in cells), cells
    assert csv_cell(category or "none") in [row[0] for row in rows]


@settings(max_examples=40, deadline=None)
@given(names=st.lists(TITLES, min_size=3, max_size=3))
def test_no_csv_cell_of_the_training_report_starts_a_formula(names: list[str]) -> None:
    """`report --training --format csv`: role, rotation and person cells never start a formula."""
    role, rotation, person = names
    practice = Practice(person, 1, NOW, f"shop/checkout#1 {person}", role)
    training = TrainingReport(
        NOW, 1, {role: RoleTraining(role, rotation, (practice,))}, {rotation: RotationTraining((role,), (practice,))}
    )
    rows = list(csv.reader(io.StringIO(training_csv(training))))
    assert all(not cell.startswith(FORMULA) for row in rows for cell in row), rows
    assert rows[1][:3] == ["role", csv_cell(role), csv_cell(person)]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\n=1"),  # and a CR is a line feed, so the writer quotes the cell
        ("a\r\nb\rc", "a\nb\nc"),
        ("checkout", "checkout"),
        ("", ""),
        (12, "12"),
        (1.5, "1.5"),
    ],
)
def test_csv_cell_follows_the_owasp_rule(value: object, cell: str) -> None:
    """A text or number starting with a formula character gets a single quote first; anything else is kept."""
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "http://x) [click](http://evil", "https://ok.example/a b", "http://x/<img>"]
)
def test_a_similar_incident_is_linked_only_by_a_plain_http_url(index: Store, url: str) -> None:
    """The declaration's list of similar incidents: a stored URL that is not plain http(s) is no link target."""
    category = f"wombat{next(_iids)}"  # one past incident per case
    ref = record(index, "Wombat tunnel collapsed", category, url=url)
    (found,) = similar(
        index, project_id=1, iid=0, text="wombat tunnel", category=category, areas=frozenset(), confidential=False
    )
    line = render_similar([found])
    said = f"- {ref} Wombat tunnel collapsed (severity 2, still open; category {category}, words: tunnel, wombat)"
    assert line == said
