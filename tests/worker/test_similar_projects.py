"""Similar past incidents stay in their project, unless an area's `projects:` says a group of projects shares them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.rules import RulesError, RuleSet, load_rules
from service.store import Store
from service.worker import process_delivery
from service.worker.index import DeliveryIndex
from tests.conftest import body, payload
from tests.rules.helpers import rules_with_area_projects
from tests.web.board.seed import incident, record

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
HERE = "gitlabhq/gitlab-test"  # the project of the fixtures' deliveries (id 1)


def seed(store: Store) -> None:
    """Alike past incidents: one in the same project, one open and one confidential in `secretgroup/private`."""
    record(
        store,
        incident(101, "Checkout returns 502 errors", now=NOW, started_minutes_ago=900, project_id=1, project_path=HERE),
        incident(
            301,
            "Checkout returns 500 errors for pangolin cards",
            now=NOW,
            started_minutes_ago=800,
            project_id=3,
            project_path="secretgroup/private",
        ),
        incident(
            302,
            "Checkout returns 500 errors, wombat vault",
            now=NOW,
            started_minutes_ago=700,
            project_id=3,
            project_path="secretgroup/private",
            confidential=True,
        ),
    )


def declaration(fake, runtime, store: Store) -> str:
    """The declaration comment of incident 1#23 (`Checkout returns 500 errors`) through the real job."""
    runtime.index = DeliveryIndex(lambda: store)
    outcome = process_delivery(body("issue.open.incident"), {"delivery_id": "d1", "event_uuid": "u1"})
    assert outcome.startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def test_only_the_same_projects_incidents_are_listed(fake, runtime, store: Store) -> None:
    """By default the declaration names past incidents of its own project only, not another project's open ones."""
    seed(store)
    comment = declaration(fake, runtime, store)
    assert "**Similar past incidents**" in comment and f"[{HERE}#101]" in comment
    assert "secretgroup" not in comment and "pangolin" not in comment and "wombat" not in comment


def test_an_areas_projects_share_but_never_a_confidential_one(fake, runtime, store: Store, tmp_path: Path) -> None:
    """Projects an area lists together see each other's open incidents; another project's confidential one, never."""
    seed(store)
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, f"[{HERE}, secretgroup]"))
    comment = declaration(fake, runtime, store)
    assert f"[{HERE}#101]" in comment and "[secretgroup/private#301]" in comment
    assert "#302" not in comment and "wombat" not in comment


def test_an_area_not_listing_this_project_shares_nothing_with_it(fake, runtime, store: Store, tmp_path: Path) -> None:
    """An area sharing between other projects leaves this project's declarations to its own incidents."""
    seed(store)
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[secretgroup, acme/app]"))
    comment = declaration(fake, runtime, store)
    assert f"[{HERE}#101]" in comment and "secretgroup" not in comment


@pytest.mark.parametrize(
    ("projects", "said"),
    [
        ("[acme/app, 'acme//x']", "'acme//x' is not a project or group path"),
        ("[/acme/app]", "'/acme/app' is not a project or group path"),
        ("[acme, 'a b']", "'a b' is not a project or group path"),
        ("acme/app", "projects: 'acme/app' is not of type 'array'"),
        ("[acme, 3]", "projects.1: 3 is not of type 'string'"),
    ],
)
def test_a_bad_projects_value_is_a_file_line_error(tmp_path: Path, projects: str, said: str) -> None:
    """A path GitLab cannot have, or a value of the wrong shape, is named with its file and line."""
    folder = rules_with_area_projects(tmp_path, projects)
    with pytest.raises(RulesError) as caught:
        load_rules(folder)
    assert f"{folder / 'areas' / 'reliability.yml'}:7:" in caught.value.report()
    assert said in caught.value.report()


def test_the_shipped_areas_share_nothing(rules: RuleSet) -> None:
    """Out of the box no area names projects: every project's incidents stay its own."""
    assert all(not area.projects for area in rules.areas.values())


def test_an_internal_note_asking_shows_no_confidential_incident(fake, runtime, store: Store) -> None:
    """`@incident-bot similar` in an internal note of an open incident: the reply is an ordinary comment, so no
    confidential incident of the project is listed in it."""
    seed(store)
    record(
        store,
        incident(
            102,
            "Checkout returns 500 errors, numbat",
            now=NOW,
            started_minutes_ago=600,
            project_id=1,
            confidential=True,
        ),
    )
    declaration(fake, runtime, store)
    note = payload("note.create.incident")
    note["object_attributes"].update(note="@incident-bot similar", internal=True)
    outcome = process_delivery(json.dumps(note).encode(), {"delivery_id": "d2", "event_uuid": "u2"})
    assert outcome.startswith("applied")
    reply = str(fake.bot_notes()[-1]["body"])
    assert f"[{HERE}#101]" in reply and "numbat" not in reply and "#102" not in reply
