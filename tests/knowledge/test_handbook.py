"""The handbook generated from the rules: complete, checkable in CI, served behind sign-in, linked from comments."""

from __future__ import annotations

import html
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from service.cli import main
from service.config import Settings, shipped_rules_dir
from service.knowledge.handbook import build, file_link, render
from service.knowledge.pages import commands
from service.rules import RuleSet, load_rules
from service.store import Store
from service.web.board import BoardConfig, register_board
from service.web.board.session import Cookies, ViewerKind
from service.web.handbook import register_handbook
from service.worker.executor import note_body
from tests.planning import plan_for

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KIOSK = "kiosk-token-for-the-handbook"
SECRET = "handbook-test-secret"


def items(rules: RuleSet) -> list[str]:
    """Every item the rules define, as a reader should find it written in the handbook."""
    found: list[str] = [rules.incident_label]
    for s in rules.severities.values():
        found += [s.label, s.name, s.description]
    for role in rules.roles.values():
        found += [role.title, role.name, role.rotation, *role.duties]
    for phase in rules.phases:
        found += [phase.title, phase.label, phase.guidance, *phase.checklist]
    found += list(rules.channels)
    for team in rules.teams.values():
        found += [team.title, f"page {team.name}"]
    found += [c.label for c in rules.categories.values()] + [c.name for c in rules.categories.values()]
    found += [syntax for syntax, _ in commands(rules, "incident-bot")]
    for area in getattr(rules, "areas", {}).values():
        found += [area.title, *area.roles, *area.channels, *area.handoff, *area.reporting]
        found += [item for extra in area.checklists.values() for item in extra]
        found += list(area.severity_examples.values())
        match = area.match
        found += [*match.categories, *match.labels, *match.paths, *match.terms]
    for drill in getattr(rules, "drills", {}).values():
        found += [drill.name, drill.title, drill.description, f"drill {drill.name}"]
    return [item for item in found if item]


def whole(rules: RuleSet, fmt: str, now: datetime | None = None) -> str:
    """The text of every page in one format, HTML unescaped and tags dropped (what a reader sees)."""
    pages = build(rules, now=now)
    text = "\n".join(render(page, fmt, file_link(fmt), nav=pages) for page in pages)
    return html.unescape(re.sub(r"<[^>]+>", "", text)) if fmt == "html" else text.replace("\\|", "|")


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_every_rules_item_appears_in_the_handbook(rules: RuleSet, fmt: str) -> None:
    """Each severity, role, duty, phase, checklist item, channel, team, category, command and area item is there."""
    text = whole(rules, fmt)
    shown = (lambda item: item.replace("`", "")) if fmt == "html" else (lambda item: item)  # code spans: <code>
    missing = [item for item in items(rules) if shown(item) not in text]
    assert missing == []
    assert len(items(rules)) > 60  # the walk saw the shipped rules, not an empty set


def test_severity_targets_and_cadence_in_the_one_duration_format(rules: RuleSet) -> None:
    """The severities page reads targets as the comments do: `24 h 00 min`, `2 d 00 h`; `none` where none is set."""
    text = whole(rules, "md")
    assert "| 30 min | 15 min | 4 h 00 min | 24 h 00 min |" in text  # severity 1 of the shipped rules
    assert "| 1 h 00 min | 30 min | 8 h 00 min | 2 d 00 h |" in text  # severity 2
    assert "| `severity::3` | none |" in text  # no update cadence


def test_index_says_how_to_raise_an_incident_in_five_lines(rules: RuleSet) -> None:
    """The first page gives five numbered steps naming the incident label and a command."""
    index = render(build(rules)[0], "md", file_link("md"))
    steps = re.findall(r"^\d\. .+$", index, re.MULTILINE)
    assert len(steps) == 5
    assert "`incident`" in steps[1] and "`@incident-bot severity 1`" in steps[4]


def test_on_call_now_only_on_live_pages(rules: RuleSet) -> None:
    """Who is on call is computed for a live page, never written into a committed copy."""
    on_call = rules.rotations["engineers-on-call"].on_call(NOW)
    assert on_call and f"| `engineers-on-call` | {on_call} |" in whole(rules, "md", NOW)
    assert "| `engineers-on-call` |" not in whole(rules, "md")


def copy_rules(tmp_path: Path, edit: tuple[str, str, str] | None = None) -> Path:
    """A copy of the shipped rules, with one text replaced in one file."""
    target = tmp_path / "rules"
    shutil.copytree(shipped_rules_dir(), target)
    if edit:
        name, old, new = edit
        path = target / name
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))
    return target


def test_check_passes_on_a_fresh_copy_and_fails_on_a_stale_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`handbook --check DIR` exits 0 right after writing, 1 naming the page once the rules changed or a page went."""
    rules_dir = copy_rules(tmp_path)
    out = tmp_path / "wiki"
    assert main(["handbook", "--rules", str(rules_dir), "--out", str(out)]) == 0
    assert (out / "index.md").exists() and (out / "phases.md").exists()
    assert main(["handbook", "--rules", str(rules_dir), "--check", str(out)]) == 0
    edited = copy_rules(tmp_path / "edited", ("phases.yml", "Remove the cause", "Remove the root cause"))
    capsys.readouterr()
    assert main(["handbook", "--rules", str(edited), "--check", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{out / 'phases.md'}: out of date" in err and "index.md" not in err
    (out / "glossary.md").unlink()
    (out / "old-page.md").write_text("gone")
    assert main(["handbook", "--rules", str(rules_dir), "--check", str(out)]) == 1
    err = capsys.readouterr().err
    assert "glossary.md: missing" in err and "old-page.md: no longer generated" in err


def test_html_copy_is_checked_too(tmp_path: Path) -> None:
    """An HTML copy is written with links between its files and checked like the Markdown one."""
    rules_dir = copy_rules(tmp_path)
    out = tmp_path / "site"
    assert main(["handbook", "--rules", str(rules_dir), "--out", str(out), "--format", "html"]) == 0
    assert 'href="severities.html"' in (out / "index.html").read_text()
    assert main(["handbook", "--rules", str(rules_dir), "--check", str(out)]) == 0
    (out / "roles.html").write_text("<p>edited by hand</p>")
    assert main(["handbook", "--rules", str(rules_dir), "--check", str(out)]) == 1


def unopened() -> Store:
    """The board's index opener: these tests never open the index."""
    raise AssertionError("the handbook tests open no index")


def app_for(rules: RuleSet) -> Flask:
    """The board and the handbook as the app factory registers them, GitLab sign-in configured."""
    settings = Settings(webhook_secret=SECRET)
    config = BoardConfig(client_id="board-app", client_secret="board-secret", groups=("acme",), kiosk_token=KIOSK)
    app = Flask("handbook_test")
    register_board(app, settings, unopened, rules, config)
    register_handbook(app, settings, rules, config, clock=lambda: NOW)
    return app


def signed_in(app: Flask) -> FlaskClient:
    """A client holding the board's session cookie for a signed-in person."""
    cookies = Cookies(BoardConfig(client_secret="board-secret").signing_key(SECRET), lifetime=3600, secure=False)
    response = Response()
    cookies.issue(response, ViewerKind.PERSON, "alice")
    name, _, rest = response.headers["Set-Cookie"].partition("=")
    client = app.test_client()
    client.set_cookie(name, rest.split(";", 1)[0])
    return client


def test_served_handbook_needs_the_board_sign_in(rules: RuleSet) -> None:
    """Anonymous readers are sent to sign in; a bad kiosk token is refused; a session or the kiosk token reads it."""
    app = app_for(rules)
    anonymous = app.test_client().get("/handbook/phases")
    assert anonymous.status_code == 302 and "/board/sign-in?next=/handbook/phases" in anonymous.headers["Location"]
    assert app.test_client().get("/handbook?token=wrong").status_code == 401
    assert app.test_client().get(f"/handbook?token={KIOSK}").status_code == 200
    page = signed_in(app).get("/handbook/roles")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<script" not in body and "script-src" not in page.headers["Content-Security-Policy"]
    on_call = rules.rotations["engineers-on-call"].on_call(NOW)
    assert f"<td><code>engineers-on-call</code></td><td>{on_call}</td>" in body  # live: who is on call now
    assert signed_in(app).get("/handbook/nonsense").status_code == 404


def test_rule_text_is_escaped_in_html(tmp_path: Path) -> None:
    """Markup written in a rule (a checklist item) is shown as text on the served page, never run."""
    rules = load_rules(copy_rules(tmp_path, ("phases.yml", "Remove the cause", "Remove <script>alert(1)</script>")))
    body = signed_in(app_for(rules)).get("/handbook/phases").get_data(as_text=True)
    assert "<script>" not in body and "Remove &lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_comments_link_the_served_handbook_when_procedure_url_is_left_out(tmp_path: Path) -> None:
    """Without procedure_url the declaration, the phase guidance and the staffing link /handbook sections that exist."""
    base = "https://bot.example.com/handbook"
    settings_edit = (
        "settings.yml",
        "  procedure_url: https://handbook.example.com/engineering/incident-management/\n",
        f"  handbook_url: {base}\n",
    )
    rules = load_rules(copy_rules(tmp_path, settings_edit))
    body = note_body(plan_for(rules, "issue.open.incident", title="Checkout outage"))
    links = re.findall(re.escape(base) + r"[^\s)]*", body)
    assert f"{base}/phases#identification" in links and f"{base}/roles#eoc" in links
    assert f"**Procedure:** {base}" in body
    client = signed_in(app_for(rules))
    for link in links:
        path, _, anchor = link.removeprefix("https://bot.example.com").partition("#")
        page = client.get(path)
        assert page.status_code == 200, link
        assert not anchor or f'id="{anchor}"' in page.get_data(as_text=True), link


def test_comments_keep_procedure_url_when_it_is_set(rules: RuleSet) -> None:
    """With procedure_url set (the shipped rules), comments carry it and no handbook section link."""
    body = note_body(plan_for(rules, "issue.open.incident"))
    assert rules.settings.procedure_url in body and "Handbook:" not in body
