"""A declaration's "open corrective actions in this area" names earlier incidents' follow-ups only of projects its
readers may see, by the suspects' and similar incidents' rule (`changes.suspects.SuspectScope.sees`): its own
project, and those an area's `projects:` shares with it; a confidential incident, its own project only (issue 20's
audit). Through the real delivery job against the fake GitLab and the index (SQLite and PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.rules import load_rules
from service.store import Store
from service.store.corrective import of_incident
from tests.followups import comment, open_incident
from tests.rules.helpers import rules_with_area_projects

pytestmark = pytest.mark.usefixtures("follow_up_clock")  # the due dates below are worked out from its time

HERE = "gitlabhq/gitlab-test"  # project 1, as its deliveries name it
AVAILABILITY = ["incident", "incident-category::availability"]
SECRET = "Rotate the partner API key"


def other_projects_follow_up(fake, indexed: Store) -> None:
    """group/other#23 (availability) leaves a follow-up open."""
    open_incident(fake, 23, AVAILABILITY, project=(2, "group/other"))
    comment(f"@incident-bot follow-up {SECRET} @bob", key="c1", project=(2, "group/other"))
    assert [r.iid for r in of_incident(indexed.engine, 2, 23)], "the follow-up was not opened"


def declaration(fake, iid: int) -> str:
    return "\n".join(n["body"] for n in fake.bot_notes(1, iid))


def test_another_projects_follow_ups_are_not_named_by_default(fake, runtime, indexed: Store) -> None:
    """No area shares group/other with this project: declaring 1#24 in the same category names none of its
    follow-ups, not its title nor its incident."""
    other_projects_follow_up(fake, indexed)
    open_incident(fake, 24, AVAILABILITY)
    said = declaration(fake, 24)
    assert SECRET not in said and "group/other" not in said and "Open corrective actions" not in said


def test_an_area_sharing_the_projects_names_them_in_full(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """An area lists both projects: 1#24 names the follow-up from `group/other#23`, never a bare `#23` (group/project's
    own issue 23)."""
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, f"[{HERE}, group/other]"))
    other_projects_follow_up(fake, indexed)
    open_incident(fake, 24, AVAILABILITY)
    said = declaration(fake, 24)
    assert SECRET in said and "from incident group/other#23;" in said


def test_a_confidential_incident_names_its_own_projects_only(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """Even with the projects shared, a confidential declaration names no other project's follow-up (that project's
    readers may not be its readers), and still its own project's."""
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, f"[{HERE}, group/other]"))
    other_projects_follow_up(fake, indexed)
    open_incident(fake, 25, AVAILABILITY)
    comment("@incident-bot follow-up Add a canary stage @bob", iid=25, key="c2")
    open_incident(fake, 26, AVAILABILITY, confidential=True)
    said = declaration(fake, 26)
    assert SECRET not in said and "Add a canary stage" in said


def test_an_area_label_people_set_names_no_other_projects_follow_up(
    fake, runtime, indexed: Store, tmp_path: Path
) -> None:
    """The `reliability` area shares secretgroup/private, but group/project is in it only by the area label someone
    put on 1#24: a label people set widens nothing, so 1#24 names none of secretgroup/private's follow-ups (the
    suspects' admin-only scope, `worker.scope.incident_scope`)."""
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[secretgroup]"))
    open_incident(fake, 23, AVAILABILITY, project=(3, "secretgroup/private"))
    comment(f"@incident-bot follow-up {SECRET} @bob", key="c1", project=(3, "secretgroup/private"))
    assert [r.iid for r in of_incident(indexed.engine, 3, 23)], "the follow-up was not opened"
    open_incident(fake, 24, [*AVAILABILITY, "reliability"])
    said = declaration(fake, 24)
    assert SECRET not in said and "secretgroup" not in said
