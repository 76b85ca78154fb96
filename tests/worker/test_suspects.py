"""Suspects through the real job against the fake GitLab and a real index (SQLite and PostgreSQL): the declaration's
"Recent changes", the `suspects` reply, `cause <ref>` recorded with its rollback hint, `cause none`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from service.changes.hooks import Deployment, FlagChange
from service.rules import load_rules
from service.store import Store
from service.store.changes import record
from service.store.schema import incident_causes
from service.worker import process_delivery
from tests.conftest import NOW, body, payload
from tests.rules.helpers import rules_with_area_projects

HERE = "gitlabhq/gitlab-test"  # the fixtures' project (id 1)
JOB = "http://gitlab.test/gitlabhq/gitlab-test/-/jobs/"


def deployed(n: int, minutes: float, status: str = "success", tier: str = "production", pid: int = 1) -> Deployment:
    path = HERE if pid == 1 else "secretgroup/private"
    at = NOW - timedelta(minutes=minutes)
    return Deployment(pid, path, n, status, tier, tier, f"{JOB}{900 + n}", f"sha{n}", f"Change {n}", "dev", at)


def seed(store: Store) -> None:
    """Before the incident (NOW): the suspects d1 and the flag; a failed one, one out of the window, one to staging,
    and another project's; d3 is also the successful production deployment before d1 (the rollback target)."""
    for change in (
        deployed(1, 12),
        deployed(2, 30, status="failed"),
        deployed(3, 25 * 60),
        deployed(4, 5, tier="staging"),
        deployed(5, 10, pid=3),
        FlagChange(1, HERE, "new-checkout", True, "ops", NOW - timedelta(minutes=3), 7),
    ):
        record(store.engine, change)


def declare(fake, confidential: bool = False) -> str:
    fake.issues[(1, 23)].update(labels=["incident"], confidential=confidential)
    data = body("issue.open.incident", created_at=NOW.isoformat(), confidential=confidential)
    assert process_delivery(data, {"delivery_id": "d1", "event_uuid": "u1"}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def command(fake, text: str, key: str) -> str:
    note = payload("note.create.incident")
    note["object_attributes"]["note"] = f"@incident-bot {text}"
    assert process_delivery(json.dumps(note).encode(), {"delivery_id": key, "event_uuid": key}).startswith("applied")
    return str(fake.bot_notes()[-1]["body"])


def test_the_declaration_lists_exactly_the_suspects_newest_first(fake, runtime, indexed: Store) -> None:
    """The flag (3 min) then d1 (12 min), with their reasons; not the failed, old, staging or other project's ones."""
    seed(indexed)
    comment = declare(fake)
    section = comment.split("**Recent changes**", 1)[1]
    assert "feature flag new-checkout switched on 3 min before the incident started by ops" in section
    assert f"deployment [sha1]({JOB}901) Change 1 by dev: deployed to production 12 min before" in section
    assert section.index("new-checkout") < section.index("sha1")
    for absent in ("sha2", "sha3", "sha4", "sha5", "secretgroup"):
        assert absent not in section


def test_an_areas_shared_project_is_named(fake, runtime, indexed: Store, tmp_path: Path) -> None:
    """With an area sharing `secretgroup`, an open incident lists that project's deployment, saying where."""
    seed(indexed)
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, f"[{HERE}, secretgroup]"))
    assert "deployed to production in secretgroup/private 10 min before" in declare(fake)


def test_a_confidential_incident_names_only_its_own_projects_changes(
    fake, runtime, indexed: Store, tmp_path: Path
) -> None:
    """The same sharing, a confidential incident: its own project's changes only."""
    seed(indexed)
    runtime.rules = load_rules(rules_with_area_projects(tmp_path, f"[{HERE}, secretgroup]"))
    comment = declare(fake, confidential=True)
    assert "sha1" in comment and "sha5" not in comment and "secretgroup" not in comment


def test_no_suspects_no_section_and_the_reply_says_so(fake, runtime, indexed: Store) -> None:
    """An empty index: the declaration has no "Recent changes" section; `suspects` says there is none."""
    assert "Recent changes" not in declare(fake)
    assert "No change in the index shortly before this incident started" in command(fake, "suspects", "s1")


def test_cause_a_deployment_names_the_rollback_and_is_in_the_index(fake, runtime, indexed: Store) -> None:
    """`cause 1`: recorded, confirmed, the previous successful production deployment (d3) and its job named;
    `cause none` clears it; a merge request and a flag are recorded too."""
    seed(indexed)
    declare(fake)
    said = command(fake, "cause 1", "c1")
    assert "Cause recorded by" in said and f"[sha1]({JOB}901)" in said
    assert "**Rollback hint**" in said and f"[sha3]({JOB}903)" in said and f"re-run [its job]({JOB}903)" in said
    assert "cause named by @alice: deployment 1" in said  # the timeline, in the bot's memory

    def causes() -> list[tuple[str, int | None, int | None, str | None]]:
        c = incident_causes.c
        query = sa.select(c.kind, c.deployment_id, c.merge_request_iid, c.flag_name)
        with indexed.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    assert causes() == [("deployment", 1, None, None)]
    assert "Cause recorded by" in command(fake, f"cause {JOB}903", "c2") and causes()[0][:2] == ("deployment", 3)
    assert "Cause cleared by" in command(fake, "cause none", "c3") and causes() == []
    assert "merge request !12" in command(fake, "cause !12", "c4") and causes() == [("merge_request", None, 12, None)]
    assert "feature flag new-checkout." in command(fake, "cause new-checkout", "c5")
    assert causes() == [("feature_flag", None, None, "new-checkout")]


def test_references_the_index_cannot_resolve_record_nothing(fake, runtime, indexed: Store) -> None:
    """An unknown deployment, another project's deployment for a project the incident does not share, an unseen
    project's merge request: a clear reply, and the cause stays as it was."""
    seed(indexed)
    declare(fake)
    assert "nothing recorded" in command(fake, "cause 99", "u1")
    assert "nothing recorded" in command(fake, "cause 5", "u2")  # secretgroup/private's, not shared
    assert "has seen no project nobody/else" in command(fake, "cause nobody/else!3", "u3")
    assert "Usage: `@incident-bot cause <ref>`" in command(fake, "cause two words", "u4")
    with indexed.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(incident_causes)).scalar() == 0
