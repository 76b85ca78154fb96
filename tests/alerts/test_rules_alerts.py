"""rules/alerts.yml: the shipped form loads as written; mistakes are reported with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.rules import RulesError, load_rules
from service.rules.alertmodel import OnResolved
from tests.rulesdir import TEST_RULES


def _rules_with(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    (folder / "alerts.yml").write_text(text)
    return folder


def test_the_issue_form_loads_as_written() -> None:
    """The shipped alerts.yml (the issue's example): routes, severity map, limits."""
    alerts = load_rules(TEST_RULES).alerts
    assert alerts.configured and alerts.default is not None and alerts.default.project == "ops/production"
    route = alerts.route_for({"service": "checkout"})
    assert route is not None and route.project == "shop/checkout"
    assert alerts.route_for({"service": "search"}) is alerts.default
    assert alerts.severity_of({"severity": "Critical"}) == 1 and alerts.severity_of({}) == 3
    assert alerts.on_resolved is OnResolved.COMMENT and alerts.max_new_incidents_per_minute == 10


def test_no_alerts_file_means_alerts_are_off(tmp_path: Path) -> None:
    """Without alerts.yml the rules load and alerts are not configured."""
    folder = tmp_path / "rules"
    shutil.copytree(TEST_RULES, folder)
    (folder / "alerts.yml").unlink()
    assert not load_rules(folder).alerts.configured


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("alerts:\n  default: {project: ops/x}\n  on_resolve: close\n", 3, "unknown key 'on_resolve'"),
        ("alerts:\n  routes: []\n", 2, "'default' is a required property"),
        (
            "alerts:\n  default: {project: ops/x}\n  routes:\n    - match_re: {service: '('}\n",
            4,
            "not a regular expression",
        ),
        ("alerts:\n  default: {project: ops/x, category: nope}\n", 2, "unknown category 'nope'"),
        ("alerts:\n  default: {project: ops/x}\n  severity:\n    map: {page: 7}\n", 4, "severity 7 is not defined"),
        ("alerts:\n  default: {project: ops/x}\n  max_new_incidents_per_minute: 0\n", 3, "less than the minimum"),
        ("alerts:\n  default: {project: 'not a path'}\n", 2, "not valid"),
    ],
)
def test_mistakes_name_file_and_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    """Each mistake in alerts.yml is a problem at its own file:line, and the rules are refused."""
    with pytest.raises(RulesError) as caught:
        load_rules(_rules_with(tmp_path, text))
    report = caught.value.report()
    assert f"alerts.yml:{line}" in report and says in report, report


def test_a_route_to_an_area_without_a_label_is_refused(tmp_path: Path) -> None:
    """An alert incident is put in a route's area by the area's first `match.labels` entry: an area without one
    could never apply to it (no staffing, channels or suspects of that area), so the route is refused at its line."""
    routes = "alerts:\n  default: {project: ops/x}\n  routes:\n    - {match: {a: b}, area: quiet}\n"
    folder = _rules_with(tmp_path, routes)
    area = "area:\n  name: quiet\n  title: Quiet\n  description: Matched by title only.\n"
    (folder / "areas" / "quiet.yml").write_text(area + "  match:\n    title_terms: [quiet]\n")
    with pytest.raises(RulesError) as caught:
        load_rules(folder)
    report = caught.value.report()
    assert "alerts.yml:4" in report and "area 'quiet' has no `match.labels`" in report, report
