"""Suspects come from the incident's project, the projects an area covering it shares, and for an alert incident the
projects of its route's `area:` (admin configuration), through the real job and a real index (SQLite and
PostgreSQL); an area label or title term people set does not widen them (it did: issue 19's audit), and a
confidential incident still names its own project's changes only."""

from __future__ import annotations

import json
from pathlib import Path

from rq import Queue, SimpleWorker

from service.rules import load_rules
from service.store import Store
from service.worker import Runtime, process_delivery
from service.worker.alerts import process_alert
from tests.alerts.samples import alertmanager, dumps
from tests.conftest import NOW, body, payload
from tests.rules.helpers import rules_with_area_projects
from tests.worker.helpers import deployed, recent_changes, seed_changes

ELSEWHERE = "deployed to production in secretgroup/private 10 min before"  # d5, of project 3


def in_reliability(fake, runtime: Runtime, indexed: Store, tmp_path: Path) -> Path:
    """The reliability area (label `reliability`) shares `secretgroup`, a group not covering the incident's project;
    the index holds this project's d1 and `secretgroup/private`'s d5."""
    seed_changes(indexed, [deployed(1, 12), deployed(5, 10, pid=3)])
    folder = rules_with_area_projects(tmp_path, "[secretgroup]")
    runtime.rules = load_rules(folder)
    return folder


def declare(fake, labels: list[str], confidential: bool = False) -> str:
    """Incident 1#23 opened at NOW with `labels`, through the real job: the bot's comment."""
    fake.issues[(1, 23)].update(labels=labels, confidential=confidential)
    data = body("issue.open.incident", created_at=NOW.isoformat(), confidential=confidential)
    assert process_delivery(data, {"delivery_id": "d1", "event_uuid": "d1"}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def command(fake, text: str, key: str) -> str:
    note = payload("note.create.incident")
    note["object_attributes"].update(note=f"@incident-bot {text}", id=fake.next_id())
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def test_an_area_label_or_title_term_does_not_widen_the_scope(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """Labelled `reliability` and titled with its term `database`, a public incident of a project the area does not
    cover is in the area, yet names its own project's d1 only: people set labels and titles, and secretgroup may be
    private. `cause 5` (secretgroup's deployment) records nothing."""
    in_reliability(fake, runtime, indexed, tmp_path)
    fake.issues[(1, 23)]["title"] = "database down"
    comment = declare(fake, ["incident", "reliability"])
    assert "Functional area: Reliability" in comment  # the area applies: its process, not its projects
    listed = recent_changes(comment)
    assert "sha1" in listed and "secretgroup" not in listed
    assert "secretgroup" not in command(fake, "suspects", "s1")
    said = command(fake, "cause 5", "c1")
    assert "nothing recorded" in said and "Cause recorded" not in said


def test_an_area_covering_the_project_shares_its_projects(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """The area's `projects:` cover the incident's project (and secretgroup): without any label, its declaration and
    `suspects` name secretgroup's d5 beside its own d1; `cause 5` is recorded."""
    seed_changes(indexed, [deployed(1, 12), deployed(5, 10, pid=3)])
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[gitlabhq/gitlab-test, secretgroup]"))
    listed = recent_changes(declare(fake, ["incident"]))
    assert ELSEWHERE in listed and "sha1" in listed
    assert ELSEWHERE in command(fake, "suspects", "s1")
    said = command(fake, "cause 5", "c1")
    assert "Cause recorded by" in said and "sha5" in said


def test_a_confidential_incident_names_only_its_own_project(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """Confidential, in an area covering its project and secretgroup: d1 only, secretgroup is never named, `cause 5`
    records nothing."""
    seed_changes(indexed, [deployed(1, 12), deployed(5, 10, pid=3)])
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, "[gitlabhq/gitlab-test, secretgroup]"))
    comment = declare(fake, ["incident", "reliability"], confidential=True)
    assert "sha1" in recent_changes(comment) and "secretgroup" not in comment and "sha5" not in comment
    assert "secretgroup" not in command(fake, "suspects", "s1")
    assert "nothing recorded" in command(fake, "cause 5", "c1")


def alert_incident(fake, runtime: Runtime, folder: Path, route: str) -> tuple[int, int]:
    """An alert routed by the default route `route` (its YAML mapping) opens an incident, declared through the
    ordinary planner: its (project, iid)."""
    alerts = folder / "alerts.yml"
    alerts.write_text(alerts.read_text().replace("{project: ops/production}", route))
    runtime.rules = load_rules(folder)
    assert process_alert(dumps(alertmanager()), {"delivery_id": "a1", "source": "alertmanager"}).startswith("applied")
    queue = Queue(runtime.settings.queue_name, connection=runtime.connection)
    SimpleWorker([queue], connection=runtime.connection).work(burst=True)
    [key] = [key for key in fake.issues if key[1] > 500]
    return key


def test_an_alert_routed_to_an_area_names_that_areas_projects_changes(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """An alert whose route says `area: reliability` (admin configuration, kept in the group's record) opens an
    incident carrying the area's label; its declaration, through the ordinary planner, names secretgroup's d5."""
    folder = in_reliability(fake, runtime, indexed, tmp_path)
    pid, iid = alert_incident(fake, runtime, folder, "{project: ops/production, area: reliability}")
    assert "reliability" in fake.issues[(pid, iid)]["labels"]
    assert ELSEWHERE in recent_changes(str(fake.bot_notes(pid, iid)[-1]["body"]))


def test_an_alert_routes_label_alone_does_not_widen_the_scope(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """A route without `area:` that only labels its incidents `reliability`: the label is no route's area, so the
    alert incident's declaration names no secretgroup change."""
    folder = in_reliability(fake, runtime, indexed, tmp_path)
    pid, iid = alert_incident(fake, runtime, folder, "{project: ops/production, labels: [reliability]}")
    assert "reliability" in fake.issues[(pid, iid)]["labels"]
    assert "secretgroup" not in str(fake.bot_notes(pid, iid)[-1]["body"])


def test_an_alert_marker_pasted_into_another_incident_does_not_widen_it(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """The alert incident of a route with `area: reliability` exists; its description's marker pasted into incident
    1#23 (people edit descriptions) names a group whose incident is not 1#23: 1#23 names its own d1 only."""
    folder = in_reliability(fake, runtime, indexed, tmp_path)
    pid, iid = alert_incident(fake, runtime, folder, "{project: ops/production, area: reliability}")
    [pasted] = [line for line in fake.issues[(pid, iid)]["description"].splitlines() if "alert-group" in line]
    fake.issues[(1, 23)]["description"] = f"see the alert\n\n{pasted}"
    listed = recent_changes(declare(fake, ["incident"]))
    assert "sha1" in listed and "secretgroup" not in listed
