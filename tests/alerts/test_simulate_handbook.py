"""`incident-bot simulate` shows where an alert goes; the handbook's alerts page says what alerts.yml says."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.knowledge.handbook import build, file_link, render
from service.rules import RuleSet
from service.simulate import simulate
from tests.alerts.samples import alertmanager, am_alert, dumps, generic


def test_simulate_an_alert_shows_route_project_and_severity(
    rules: RuleSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Alertmanager body: the route taken, the project, the severity and the incident it would open."""
    path = tmp_path / "alert.json"
    path.write_bytes(dumps(alertmanager(am_alert(severity="critical", service="checkout"), service="checkout")))
    assert simulate(path, rules) == 0
    out = capsys.readouterr().out
    assert "route routes[0], project shop/checkout, severity 1" in out and "OpenAlertIncident(" in out


def test_simulate_names_a_bad_field(rules: RuleSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A generic alert without a title: exit 2 naming the field."""
    path = tmp_path / "alert.json"
    path.write_bytes(dumps({k: v for k, v in generic().items() if k != "title"}))
    assert simulate(path, rules) == 2
    assert "missing field title" in capsys.readouterr().err


def test_the_handbook_has_the_alerts_page(rules: RuleSet) -> None:
    """Routes in order with their projects, the severity map and the storm limit."""
    page = next(p for p in build(rules) if p.slug == "alerts")
    text = render(page, "md", file_link("md"), standalone=False)
    assert "`service=checkout`: opens in `shop/checkout`" in text and "`severity=critical`: severity 1" in text
    assert "More than 10 new groups in a minute" in text
