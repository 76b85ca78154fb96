"""`incident-bot setup` makes the labels alert incidents carry in every project rules/alerts.yml routes to (issue 18).

Against the one fake GitLab over HTTP: the routed projects get the incident, severity and category labels and
each route's area and own labels, with the colours setup gives them; a second run writes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from service.gitlab.ops import OpsGitLab
from service.ops.labels import wanted_labels
from service.ops.setup import SetupOptions, run_setup
from service.ops.table import Row, Status, has_problem, render
from service.rules import RuleSet, load_rules
from tests.fakegitlab import FakeGitLab, FakeGitLabServer
from tests.ops.helpers import URL
from tests.rulesdir import TEST_RULES

ALERTS = """alerts:
  default: {project: ops/production, labels: [from-alerts]}
  routes:
    - match: {service: checkout}
      project: shop/checkout
      category: availability
      area: reliability
      labels: [team::checkout]
    - match: {service: search}
      project: shop/checkout
      labels: [team::search]
  severity:
    label: severity
    map: {critical: 1, warning: 3}
  max_new_incidents_per_minute: 5
"""
OPS_PRODUCTION, CHECKOUT = 4, 3  # the fake's projects (ops/production apart from group/project, where setup runs)


def _rules(tmp_path: Path, alerts: str = ALERTS) -> RuleSet:
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    (folder / "alerts.yml").write_text(alerts)
    return load_rules(folder)


def _setup(server: FakeGitLabServer, rules: RuleSet, **options: object) -> list[Row]:
    api = OpsGitLab(server.url, "test-token", timeout=5)
    opts = {"url": URL, "secret": "hook-s3cret", "project": "group/project", **options}
    return run_setup(api, rules, SetupOptions(**opts))  # type: ignore[arg-type]  # the options' own types


def _labels(fake: FakeGitLab, project_id: int) -> dict[str, dict[str, object]]:
    return {str(label["name"]): label for label in fake.project_labels.get(project_id, [])}


def test_setup_creates_the_alert_labels_in_each_routed_project_and_a_second_run_changes_nothing(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """ops/production and shop/checkout (the routes' projects) get the incident and severity labels, the route's
    category, area and own labels, each with setup's colour; where setup runs too. Run again: no write."""
    fake.projects["ops/production"] = OPS_PRODUCTION
    rules = _rules(tmp_path)
    area = rules.areas["reliability"].match.labels[0]
    rows = _setup(server, rules)
    assert not has_problem(rows), render(rows)
    wanted = {w.name: w for w in wanted_labels(rules)}
    alert_labels = {"incident", "severity::1", "severity::3", "incident-category::availability", area}
    alert_labels |= {"from-alerts", "team::checkout", "team::search"}
    assert alert_labels <= set(wanted)
    for project_id in (OPS_PRODUCTION, CHECKOUT, 1):
        made = _labels(fake, project_id)
        assert set(made) == set(wanted), (project_id, sorted(set(wanted) - set(made)))
        assert all(made[name]["color"] == wanted[name].color for name in alert_labels)
    assert {r.what for r in rows if r.status is Status.CREATED} - {"webhook"} == {
        "label",
        "label in ops/production",
        "label in shop/checkout",
    }
    writes = len(fake.writes())
    again = _setup(server, rules)
    assert len(fake.writes()) == writes
    assert {r.status for r in again} == {Status.RIGHT}, render(again)


def test_a_route_to_the_project_setup_runs_in_is_done_once(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """ops/production is group/project itself here (the same id): its labels are made once, no second set of rows."""
    rules = _rules(tmp_path)
    rows = _setup(server, rules)
    assert not any(r.what == "label in ops/production" for r in rows), render(rows)
    assert len(fake.project_labels[1]) == len(wanted_labels(rules))


def test_a_route_to_a_project_gitlab_does_not_know_is_one_clear_row(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """A mistyped project in alerts.yml: one failed row naming it and alerts.yml; the other projects still done."""
    rules = _rules(
        tmp_path, ALERTS.replace("project: shop/checkout\n      category", "project: shop/chekout\n      category")
    )
    rows = _setup(server, rules)
    [bad] = [r for r in rows if r.status is Status.FAILED]
    assert bad.name == "shop/chekout" and "rules/alerts.yml" in bad.detail, render(rows)
    assert set(_labels(fake, CHECKOUT)) == {w.name for w in wanted_labels(rules)}


def test_dry_run_says_which_alert_labels_it_would_create_and_writes_nothing(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """--dry-run: "would create" rows for the routed project, no write."""
    rows = _setup(server, _rules(tmp_path), dry_run=True)
    assert fake.writes() == []
    assert {r.status for r in rows if r.what == "label in shop/checkout"} == {Status.WOULD_CREATE}


def test_a_routed_project_in_the_group_setup_runs_for_inherits_the_group_labels(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """setup --group group: the labels go to the group; group/other (a route's project in it) gets none of its own,
    shop/checkout (outside it) gets them."""
    fake.premium = True
    rules = _rules(tmp_path, ALERTS.replace("project: ops/production", "project: group/other"))
    rows = _setup(server, rules, project=None, group="group")
    assert not has_problem(rows), render(rows)
    assert set(_labels(fake, CHECKOUT)) == {w.name for w in wanted_labels(rules)}
    assert _labels(fake, 2) == {} and not any(r.what == "label in group/other" for r in rows)
    assert {str(label["name"]) for label in fake.group_labels[5]} == {w.name for w in wanted_labels(rules)}


def _hooks(fake: FakeGitLab, project_id: int) -> list[dict[str, object]]:
    return fake.hooks.get(("projects", project_id), [])


def test_setup_makes_the_webhook_in_each_routed_project_and_a_second_run_changes_nothing(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """An incident the bot opens in ops/production or shop/checkout must reach the bot back (silence, close, people's
    label changes): each gets the webhook group/project gets, same URL, triggers (deployments and feature flags
    included) and secret. Run again: no write, every row already right."""
    fake.projects["ops/production"] = OPS_PRODUCTION
    rules = _rules(tmp_path)
    rows = _setup(server, rules)
    assert not has_problem(rows), render(rows)
    (own,) = _hooks(fake, 1)
    for project_id in (OPS_PRODUCTION, CHECKOUT):
        (hook,) = _hooks(fake, project_id)
        assert {k: v for k, v in hook.items() if k.endswith("_events")} == {
            k: v for k, v in own.items() if k.endswith("_events")
        }
        assert hook["deployment_events"] is hook["feature_flag_events"] is True
        assert hook["url"] == URL and fake.hook_tokens[int(str(hook["id"]))] == "hook-s3cret"
    made = {r.name for r in rows if r.what == "webhook" and r.status is Status.CREATED}
    assert made == {"project group/project", "project ops/production", "project shop/checkout"}
    writes = len(fake.writes())
    again = _setup(server, rules)
    assert len(fake.writes()) == writes
    assert {r.status for r in again} == {Status.RIGHT}, render(again)
    assert {r.name for r in again if r.what == "webhook"} == made


def test_dry_run_says_which_routed_webhooks_it_would_create(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """--dry-run: "would create" for shop/checkout's webhook, nothing written."""
    rows = _setup(server, _rules(tmp_path), dry_run=True)
    assert fake.writes() == [] and fake.all_hooks() == []
    [row] = [r for r in rows if r.what == "webhook" and r.name == "project shop/checkout"]
    assert row.status is Status.WOULD_CREATE and URL in row.detail


def test_a_routed_projects_webhook_is_refused_as_setups_own(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """No secret: no unprotected webhook in any project, a row per project saying to set it; a token that may not
    manage shop/checkout's webhooks (403): its row says Maintainer and --bot-user, group/project's is made; exit 1."""
    rules = _rules(tmp_path)
    rows = _setup(server, rules, secret="")
    assert fake.all_hooks() == []
    unset = {r.name for r in rows if r.status is Status.FAILED and "GITLAB_WEBHOOK_SECRET" in r.detail}
    assert unset == {"project group/project", "project shop/checkout"}, render(rows)
    fake.fail("GET", r"/projects/3/hooks", 403)
    rows = _setup(server, rules)
    [refused] = [r for r in rows if r.status is Status.FAILED]
    assert refused.name == "project shop/checkout" and "Maintainer" in refused.detail and "--bot-user" in refused.detail
    assert len(_hooks(fake, 1)) == 1 and _hooks(fake, CHECKOUT) == []


def test_a_routed_project_gets_no_webhook_while_setup_refuses_to_go_live(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """A rotation member who is not a member: no webhook anywhere, shop/checkout's row says why too."""
    del fake.members[fake.users["eoc-dave"]]
    rows = _setup(server, _rules(tmp_path))
    assert fake.all_hooks() == []
    [row] = [r for r in rows if r.what == "webhook" and r.name == "project shop/checkout"]
    assert row.status is Status.FAILED and "goes live only once" in row.detail


def test_a_routed_project_in_the_group_is_served_by_the_group_webhook(
    tmp_path: Path, server: FakeGitLabServer, fake: FakeGitLab
) -> None:
    """setup --group group on Premium: group/other (a route's project in the group) gets no webhook of its own (the
    group's delivers; two would double every delivery), shop/checkout (outside) gets one. On Free the group's is
    refused, so group/other gets its own."""
    rules = _rules(tmp_path, ALERTS.replace("project: ops/production", "project: group/other"))
    fake.premium = True
    rows = _setup(server, rules, project=None, group="group")
    assert not has_problem(rows), render(rows)
    assert len(fake.hooks[("groups", 5)]) == 1 and _hooks(fake, 2) == [] and len(_hooks(fake, CHECKOUT)) == 1
    fake.premium = False
    fake.hooks.clear()
    rows = _setup(server, rules, project=None, group="group")
    assert [r.name for r in rows if r.status is Status.FAILED] == ["group group"], render(rows)
    assert len(_hooks(fake, 2)) == 1 and len(_hooks(fake, CHECKOUT)) == 1
