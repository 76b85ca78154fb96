"""The pure choice of suspects: window edges, production tier or named environments, who may be named, inert reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from service.changes.hooks import Deployment, FlagChange
from service.changes.suspects import SuspectScope, select_suspects, touches
from service.rules.model import Area
from service.rules.settings import SuspectSettings
from tests.changes.helpers import START, deployed, switched

SCOPE = SuspectScope(1, "acme/shop", START)


def test_failed_running_staging_and_out_of_window_changes_are_no_suspects() -> None:
    """Only the successful production deployment and the flag inside the window are listed."""
    changes: list[Deployment | FlagChange] = [
        deployed(1, 12),
        deployed(2, 5, status="failed"),
        deployed(3, 6, status="running"),
        deployed(4, 7, tier="staging"),
        deployed(5, 24 * 60 + 1),
        deployed(6, -1),  # after the start
        switched("f", 3, active=False),
    ]
    found = select_suspects(SCOPE, changes, SuspectSettings())
    assert [s.reason for s in found] == [
        "feature flag f switched off 3 min before the incident started",
        "deployed to production 12 min before the incident started",
    ]
    assert select_suspects(SCOPE, changes, SuspectSettings(window_hours=0.1)) == found[:1]


def test_a_hostile_environment_or_flag_name_is_inert_in_the_reason() -> None:
    """Mentions, links and quick actions from a payload's names reach the comment inert."""
    changes: list[Deployment | FlagChange] = [
        deployed(1, 12, tier="production", environment="@all [x](javascript:alert(1))"),
        switched("/close", 3, project_id=2, project_path="evil/@here"),
    ]
    scope = replace(SCOPE, shared=("evil",))
    reasons = [s.reason for s in select_suspects(scope, changes, SuspectSettings())]
    assert reasons == [
        "feature flag &#47;close in evil/@\u2060here switched on 3 min before the incident started",
        "deployed to @\u2060all &#91;x&#93;(javascript:\u2060alert(1)) 12 min before the incident started",
    ]


def test_a_confidential_incident_names_its_own_project_only() -> None:
    """The shared group's change is named for an open incident, never for a confidential one."""
    changes = [deployed(1, 12), deployed(2, 5, project_id=2, project_path="acme/payments")]
    shared = replace(SCOPE, shared=("acme",))
    assert [s.change.project_id for s in select_suspects(shared, changes, SuspectSettings())] == [2, 1]
    secret = replace(shared, confidential=True)
    assert [s.change.project_id for s in select_suspects(secret, changes, SuspectSettings())] == [1]
    assert select_suspects(SCOPE, changes, SuspectSettings(limit=1))[0].minutes_before == 12
    assert timedelta(minutes=12) == START - select_suspects(SCOPE, changes, SuspectSettings())[0].at


def test_touches_names_the_first_area_path_a_changed_file_is_under() -> None:
    """A directory (with or without its `/`) covers what is under it, not a sibling sharing its prefix; a file path
    covers that file; the areas' order decides which is named."""
    payments = Area("payments", "Payments", "areas/payments.yml", 3, code_paths=("app/payments/", "lib/charge.rb"))
    billing = Area("billing", "Billing", "areas/billing.yml", 3, code_paths=("app/payments",))
    said = "touches `app/payments/`, a path of the payments area"
    assert touches([payments, billing], ["README.md", "app/payments/card.rb"]) == said
    assert (
        touches([billing, payments], ["app/payments/card.rb"]) == "touches `app/payments`, a path of the billing area"
    )
    assert touches([payments], ["lib/charge.rb"]) == "touches `lib/charge.rb`, a path of the payments area"
    assert touches([payments, billing], ["app/paymentsX/a.rb", "lib/charge.rb.orig", "lib/charge"]) is None
    assert touches([], ["app/payments/card.rb"]) is None
