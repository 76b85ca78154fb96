"""A storm never lists a confidential route's alert group in an open issue: the groups of a confidential route
past `max_new_incidents_per_minute` gather in a confidential storm incident of the route's own project, the rest
in the open storm incident of the default project (the real alert job, the fake GitLab, real Redis)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from service.rules.alertmodel import AlertRoute
from service.worker import Runtime
from tests.alerts.helpers import CHECKOUT, OPS, alert, new_issues, run_queue
from tests.alerts.samples import alertmanager, am_alert
from tests.fakegitlab import FakeGitLab

SECRET = "VaultSealed"


@pytest.fixture()
def confidential_route(runtime: Runtime) -> Runtime:
    """One incident a minute; `service: vault` routes to shop/checkout, confidential."""
    vault = AlertRoute(name="routes[1]", project="shop/checkout", match={"service": "vault"}, confidential=True)
    config = replace(runtime.rules.alerts, max_new_incidents_per_minute=1, routes=(*runtime.rules.alerts.routes, vault))
    runtime.rules = replace(runtime.rules, alerts=config)
    return runtime


def _secret(status: str = "firing") -> dict[str, Any]:
    return alertmanager(am_alert(name=SECRET, status=status, service="vault"), group="vault", service="vault")


def _open_text(fake: FakeGitLab) -> str:
    """Everything an open (not confidential) issue shows: titles, descriptions, comments."""
    shown = [f"{i['title']}\n{i['description']}" for i in fake.issues.values() if not i["confidential"]]
    shown += [n["body"] for key, notes in fake.notes.items() if not fake.issues[key]["confidential"] for n in notes]
    return "\n".join(shown)


def test_a_confidential_group_in_a_storm_is_listed_only_in_a_confidential_storm_incident(
    fake: FakeGitLab, confidential_route: Runtime
) -> None:
    """Past the minute's limit: the vault group goes to a confidential storm incident in shop/checkout; the open
    storm incident in ops/production lists the other overflowing group and never the vault group, even resolved."""
    alert(alertmanager(am_alert(name="Down0"), group="g0"), "d-0")  # the minute's one incident
    alert(_secret(), "d-1")
    alert(alertmanager(am_alert(name="Down2"), group="g2"), "d-2")
    alert(_secret("resolved"), "d-3")
    run_queue(confidential_route)
    storms = [i for i in new_issues(fake) if i["title"].startswith("Alert storm")]
    [hidden] = [i for i in storms if i["confidential"]]
    [listed] = [i for i in storms if not i["confidential"]]
    assert hidden["project_id"] == CHECKOUT and f"| {SECRET} | resolved |" in hidden["description"]
    assert listed["project_id"] == OPS and "| Down2 | firing |" in listed["description"]
    assert "Down2" not in hidden["description"]
    assert SECRET not in _open_text(fake)


def test_open_groups_of_a_storm_still_share_one_open_storm_incident(
    fake: FakeGitLab, confidential_route: Runtime
) -> None:
    """Without a confidential group: one storm incident, in the default project, open, as before."""
    for n in range(4):
        alert(alertmanager(am_alert(name=f"Down{n}"), group=f"g{n}"), f"d-{n}")
    [storm] = [i for i in new_issues(fake) if i["title"].startswith("Alert storm")]
    assert storm["project_id"] == OPS and not storm["confidential"]
    assert all(f"| Down{n} | firing |" in storm["description"] for n in (1, 2, 3))
