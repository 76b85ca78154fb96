"""`incident-bot setup` against the fake GitLab over HTTP, the GitLab session real."""

from __future__ import annotations

import shutil

import pytest

from service.gitlab.ops import OpsGitLab
from service.ops.hooks import HOOK_TRIGGERS
from service.ops.labels import wanted_labels
from service.ops.setup import SetupOptions, run_setup
from service.ops.table import Status, has_problem, render
from service.rules import RulesError, RuleSet, load_rules
from tests.fakegitlab import FakeGitLabServer
from tests.rulesdir import ROOT, TEST_RULES

URL = "https://bot.example.com/webhook"
SECRET = "hook-s3cret"


@pytest.fixture()
def api(server: FakeGitLabServer) -> OpsGitLab:
    return OpsGitLab(server.url, "test-token", timeout=5)


def setup(api: OpsGitLab, rules: RuleSet, **options):
    opts = {"url": URL, "secret": SECRET, "project": "group/project", **options}
    return run_setup(api, rules, SetupOptions(**opts))


def test_setup_creates_every_label_once_with_the_rules_colours(api, fake, rules) -> None:
    """Every label the rules use is created in the project, once, with the colour and description setup chose."""
    rows = setup(api, rules)
    wanted = {w.name: w for w in wanted_labels(rules)}
    created = {label["name"]: label for label in fake.project_labels[1]}
    assert set(created) == set(wanted)
    assert len(fake.project_labels[1]) == len(wanted)
    for name, label in created.items():
        assert label["color"] == wanted[name].color
        assert label["description"] == wanted[name].description
    assert {"incident", "severity::1", "incident::post-incident", "incident-category::security"} <= set(created)
    assert "post-incident-review" in created
    assert [r.status for r in rows if r.what == "label"] == [Status.CREATED] * len(wanted)
    assert not has_problem(rows), render(rows)


def test_setup_creates_the_hook_with_exactly_its_triggers_and_the_token(api, fake, rules) -> None:
    """One project hook: issues, confidential issues, comments, confidential comments, deployments, feature flags
    (issue 19: the suspects' changes); the secret; SSL verified."""
    setup(api, rules)
    (hook,) = fake.hooks[("projects", 1)]
    assert hook["url"] == URL
    on = {k for k, v in hook.items() if k.endswith("_events") and v is True}
    assert on == set(HOOK_TRIGGERS)
    assert {"deployment_events", "feature_flag_events"} <= on
    assert hook["push_events"] is False
    assert hook["enable_ssl_verification"] is True
    assert fake.hook_tokens[hook["id"]] == SECRET


def test_second_run_writes_nothing(api, fake, rules) -> None:
    """Run twice: the second run makes no write and reports everything already right."""
    setup(api, rules)
    writes = len(fake.writes())
    rows = setup(api, rules)
    assert len(fake.writes()) == writes
    assert {r.status for r in rows} == {Status.RIGHT}, render(rows)


def test_dry_run_writes_nothing_and_says_what_it_would_do(api, fake, rules) -> None:
    """--dry-run reads only, and its table says what a real run would create."""
    rows = setup(api, rules, dry_run=True)
    assert fake.writes() == []
    assert {r.status for r in rows if r.what in ("label", "webhook")} == {Status.WOULD_CREATE}
    assert "would create" in render(rows)


def test_setup_corrects_a_hand_made_hook_and_a_wrong_label(api, fake, rules) -> None:
    """A hook to the same URL with push events on is corrected in place; a label with another colour is updated."""
    hand = fake.add_hook("projects", 1, url=URL, issues_events=True)
    fake.project_labels[1] = [{"id": 1, "name": "severity::1", "color": "#000000", "description": None}]
    rows = setup(api, rules)
    assert [h["id"] for h in fake.hooks[("projects", 1)]] == [hand["id"]]
    assert hand["push_events"] is False and hand["note_events"] is True
    assert fake.hook_tokens[hand["id"]] == SECRET
    assert fake.project_labels[1][0]["color"] != "#000000"
    updated = {r.name for r in rows if r.status is Status.UPDATED}
    assert "severity::1" in updated and "project group/project" in updated


def test_free_tier_group_hook_is_reported_and_the_project_hook_set(api, fake, rules) -> None:
    """On GitLab Free a group hook answers 404: setup says so and sets the project hook instead."""
    rows = setup(api, rules, group="group")
    (failed,) = [r for r in rows if r.status is Status.FAILED]
    assert "Premium" in failed.detail and "project hook is set instead" in failed.detail
    assert len(fake.hooks[("projects", 1)]) == 1
    assert {label["name"] for label in fake.group_labels[5]} == {w.name for w in wanted_labels(rules)}


def test_premium_group_hook_replaces_the_project_hook(api, fake, rules) -> None:
    """With group hooks available, the group gets the hook and the project none (no double deliveries)."""
    fake.premium = True
    rows = setup(api, rules, group="group")
    assert len(fake.hooks[("groups", 5)]) == 1
    assert fake.hooks.get(("projects", 1), []) == []
    assert not has_problem(rows), render(rows)


def test_bot_without_developer_access_is_reported(api, fake, rules) -> None:
    """A bot user with Reporter access gets a row saying to give it Developer."""
    fake.members[99] = 20
    rows = setup(api, rules)
    (row,) = [r for r in rows if r.what == "access"]
    assert row.status is Status.FAILED
    assert "Reporter (20)" in row.detail and "Developer" in row.detail


def test_unknown_project_is_one_clear_row(api, fake, rules) -> None:
    """A project GitLab does not know yields one row naming it, and no write."""
    rows = setup(api, rules, project="nobody/nothing")
    assert [(r.what, r.name, r.status) for r in rows] == [("project", "nobody/nothing", Status.FAILED)]
    assert fake.writes() == []


def test_missing_secret_refuses_to_make_an_unprotected_hook(api, fake, rules) -> None:
    """Without GITLAB_WEBHOOK_SECRET no hook is created, and the row says what to set."""
    rows = setup(api, rules, secret="")
    assert fake.all_hooks() == []
    assert any("GITLAB_WEBHOOK_SECRET" in r.detail for r in rows if r.status is Status.FAILED)


def test_token_without_maintainer_rights_gets_a_clear_hook_row(api, fake, rules) -> None:
    """Webhooks need Maintainer: a 403 says to run setup once with a maintainer's token and --bot-user."""
    fake.fail("GET", r"/projects/1/hooks", 403)
    rows = setup(api, rules)
    (row,) = [r for r in rows if r.what == "webhook" and r.name == "project group/project"]
    assert row.status is Status.FAILED and "Maintainer" in row.detail and "--bot-user" in row.detail
    assert fake.hooks.get(("projects", 1), []) == []


def test_bot_user_names_whose_access_is_checked(api, fake, rules) -> None:
    """Run with a maintainer's token, --bot-user checks the bot's own access (here: none)."""
    rows = setup(api, rules, bot_user="alice")
    assert [r for r in rows if r.what == "access"][0].detail.startswith("Maintainer (40)")
    rows = setup(api, rules, bot_user="mallory")
    (row,) = [r for r in rows if r.what == "access"]
    assert (row.name, row.status) == ("@mallory", Status.FAILED)
    assert "no access (0)" in row.detail
    rows = setup(api, rules, bot_user="nobody")
    assert [r.detail for r in rows if r.what == "access"] == ["GitLab knows no such user"]


def test_labels_any_rule_names_are_wanted(tmp_path) -> None:
    """Labels named in conditions (also inside any/not) and actions (add, remove, review labels) are created too."""
    rules_dir = tmp_path / "rules"
    shutil.copytree(TEST_RULES, rules_dir)
    (rules_dir / "extra.yml").write_text(
        "rules:\n"
        "  - name: comms-flag\n"
        "    when: {any: [{has_label: needs-comms}], not: {label_added: ignore-me}}\n"
        "    then:\n"
        "      - add_labels: [customer-facing]\n"
        "      - remove_labels: [triage]\n"
        "      - open_review: {labels: ['review::pending']}\n"
    )
    wanted = {w.name: w for w in wanted_labels(load_rules(rules_dir))}
    assert {"needs-comms", "ignore-me", "customer-facing", "triage", "review::pending"} <= set(wanted)
    assert wanted["customer-facing"].description == "Used by incident-bot rule comms-flag."


def test_colours_and_descriptions_written_in_the_rules_are_used(tmp_path, api, fake) -> None:
    """Optional `color`/`description` on severities, phases, categories and the incident label reach GitLab."""
    rules_dir = tmp_path / "rules"
    shutil.copytree(TEST_RULES, rules_dir)
    settings = rules_dir / "settings.yml"
    text = settings.read_text()
    text = text.replace(
        "  incident_label: incident\n", "  incident_label: incident\n  incident_label_color: '#112233'\n"
    )
    text = text.replace("    label: severity::1\n", "    label: severity::1\n    color: '#AA0000'\n")
    text = text.replace(
        "    label: incident-category::security\n", "    label: incident-category::security\n    color: '#330066'\n"
    )
    settings.write_text(text)
    phases = rules_dir / "phases.yml"
    phases.write_text(
        phases.read_text().replace(
            "    label: incident::mitigation\n",
            "    label: incident::mitigation\n    color: '#00AA00'\n    description: Stop the bleeding.\n",
        )
    )
    setup(api, load_rules(rules_dir))
    made = {label["name"]: label for label in fake.project_labels[1]}
    assert made["incident"]["color"] == "#112233"
    assert made["severity::1"]["color"] == "#AA0000"
    assert made["incident-category::security"]["color"] == "#330066"
    assert (made["incident::mitigation"]["color"], made["incident::mitigation"]["description"]) == (
        "#00AA00",
        "Stop the bleeding.",
    )


def test_a_colour_that_is_not_rrggbb_is_a_rules_error(tmp_path) -> None:
    """`color: red` is refused at load with the file and line, like every other rules mistake."""
    rules_dir = tmp_path / "rules"
    shutil.copytree(TEST_RULES, rules_dir)
    settings = rules_dir / "settings.yml"
    settings.write_text(
        settings.read_text().replace("    label: severity::2\n", "    label: severity::2\n    color: red\n")
    )
    with pytest.raises(RulesError) as error:
        load_rules(rules_dir)
    assert "settings.yml" in error.value.report() and "color" in error.value.report()


def test_setup_refuses_to_go_live_with_the_shipped_placeholders(api, fake) -> None:
    """The shipped rotations hold placeholders: setup names each, with file:line, and creates no webhook."""
    rows = setup(api, load_rules(ROOT / "rules"))
    shown = render(rows)
    assert has_problem(rows) and fake.all_hooks() == []
    placeholders = [r for r in rows if r.what == "rotation member" and r.status is Status.FAILED]
    assert len(placeholders) == 8
    assert all("a placeholder" in r.detail and "roles.yml:" in r.detail for r in placeholders)
    assert "@REPLACE-ME-eoc-1.git" in shown and "the bot goes live only once" in shown


def test_setup_refuses_a_member_outside_the_project_or_blocked(api, fake, rules) -> None:
    """A rotation member who is not a project member, or is blocked, is named with the fix; no webhook."""
    del fake.members[fake.users["eoc-dave"]]
    fake.blocked.add("sirt-grace")
    rows = setup(api, rules)
    bad = {r.name: r.detail for r in rows if r.what == "rotation member" and r.status is Status.FAILED}
    assert set(bad) == {"@eoc-dave", "@sirt-grace"}, render(rows)
    assert "not a member of group/project: add them to group/project" in bad["@eoc-dave"]
    assert "the user is blocked" in bad["@sirt-grace"]
    assert fake.all_hooks() == []
    fake.members[fake.users["eoc-dave"]] = 30
    fake.blocked.clear()
    assert not has_problem(setup(api, rules)) and len(fake.hooks[("projects", 1)]) == 1
