"""Suspects come from the incident's project, the projects an area covering it shares, and the projects of the areas
the incident is in (its area label, an alert route's `area:`), through the real job and a real index (SQLite and
PostgreSQL); a confidential incident still names its own project's changes only."""

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


def test_an_incident_in_an_area_names_that_areas_projects_changes(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """Labelled `reliability`, the incident is in the area: its declaration and `suspects` name secretgroup's d5
    beside its own d1; `cause 5` (secretgroup's deployment) is recorded."""
    in_reliability(fake, runtime, indexed, tmp_path)
    listed = recent_changes(declare(fake, ["incident", "reliability"]))
    assert ELSEWHERE in listed and "sha1" in listed
    assert ELSEWHERE in command(fake, "suspects", "s1")
    said = command(fake, "cause 5", "c1")
    assert "Cause recorded by" in said and "sha5" in said


def test_an_incident_outside_the_area_does_not(fake, runtime: Runtime, indexed: Store, tmp_path: Path) -> None:
    """Without the area's label (nor its path or title terms), the same incident names its own project's d1 only,
    and `cause 5` records nothing."""
    in_reliability(fake, runtime, indexed, tmp_path)
    listed = recent_changes(declare(fake, ["incident"]))
    assert "sha1" in listed and "secretgroup" not in listed
    assert "nothing recorded" in command(fake, "cause 5", "c1")


def test_a_confidential_incident_in_the_area_names_only_its_own_project(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """Confidential and labelled `reliability`: d1 only, secretgroup is never named, `cause 5` records nothing."""
    in_reliability(fake, runtime, indexed, tmp_path)
    comment = declare(fake, ["incident", "reliability"], confidential=True)
    assert "sha1" in recent_changes(comment) and "secretgroup" not in comment and "sha5" not in comment
    assert "secretgroup" not in command(fake, "suspects", "s1")
    assert "nothing recorded" in command(fake, "cause 5", "c1")


def test_an_alert_routed_to_an_area_names_that_areas_projects_changes(
    fake, runtime: Runtime, indexed: Store, tmp_path: Path
) -> None:
    """An alert whose route says `area: reliability` opens an incident carrying the area's label; its declaration,
    through the ordinary planner, names secretgroup's d5."""
    folder = in_reliability(fake, runtime, indexed, tmp_path)
    alerts = folder / "alerts.yml"
    alerts.write_text(
        alerts.read_text().replace("{project: ops/production}", "{project: ops/production, area: reliability}")
    )
    runtime.rules = load_rules(folder)
    assert process_alert(dumps(alertmanager()), {"delivery_id": "a1", "source": "alertmanager"}).startswith("applied")
    queue = Queue(runtime.settings.queue_name, connection=runtime.connection)
    SimpleWorker([queue], connection=runtime.connection).work(burst=True)
    [(pid, iid)] = [key for key in fake.issues if key[1] > 500]
    assert "reliability" in fake.issues[(pid, iid)]["labels"]
    assert ELSEWHERE in recent_changes(str(fake.bot_notes(pid, iid)[-1]["body"]))
