"""Suspects through the real processes (gunicorn web, RQ worker, its SQLite index) against the fake GitLab over HTTP:
deployments and a flag switch arrive as hooks, an incident lists exactly its suspects with their merge requests,
`suspects` answers the same, `cause` records a deployment and tells the merge requests it carried once."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import body, payload
from tests.e2e.harness import Stack, accepted, calls
from tests.fakegitlab import FakeGitLab
from tests.rulesdir import TEST_RULES

pytestmark = pytest.mark.e2e

HERE = {"id": 1, "path_with_namespace": "gitlabhq/gitlab-test", "name": "Gitlab Test"}
JOB = "http://gitlab.test/gitlabhq/gitlab-test/-/jobs/"
MR = "http://gitlab.test/gitlabhq/gitlab-test/-/merge_requests/"


def hook_time(at: datetime) -> str:
    """A time as Deployment Hooks write it."""
    return at.strftime("%Y-%m-%d %H:%M:%S +0000")


def deployment(n: int, status: str, at: datetime, project: dict[str, Any] | None = None) -> bytes:
    """Deployment `n` of gitlabhq/gitlab-test (or `project`) to production, as GitLab's documented hook, status
    changed `at`."""
    data = payload("deployment.success.docs")
    data.update(
        status=status, deployment_id=n, status_changed_at=hook_time(at), environment="production",
        environment_tier="production", deployable_url=f"{JOB}{900 + n}", short_sha=f"sha{n}",
        commit_title=f"Change {n}", project=project or HERE,
    )  # fmt: skip
    return json.dumps(data).encode()


def flag_on(name: str) -> bytes:
    data = payload("feature_flag.on.docs")
    data["object_attributes"].update(name=name, active=True)
    return json.dumps(data).encode()


def settle(stack: Stack, data: bytes, key: str, event: str = "Issue Hook") -> None:
    stack.wait_finished(accepted(stack.post(data, key=key, event_uuid=key, event=event)))


def command(stack: Stack, gitlab: FakeGitLab, text: str, key: str) -> str:
    """A responder's `@incident-bot <text>` on incident 1#23; the bot's reply once its job finished."""
    with gitlab.lock:
        note_id = gitlab.next_id()
    settle(stack, body("note.create.incident", note=f"@incident-bot {text}", id=note_id), key, "Note Hook")
    with gitlab.lock:
        return str(gitlab.bot_notes()[-1]["body"])


def listed(text: str) -> list[str]:
    """The suspects' lines (a deployment's merge requests indented beneath it) after the "Recent changes" heading."""
    return text.split("**Recent changes**", 1)[1].split("\n\n")[1].splitlines()


def test_an_incident_lists_its_suspects_and_a_cause_tells_its_merge_requests(stack: Stack, gitlab: FakeGitLab) -> None:
    """d1 (success, 40 min before) carried !12 and !14; d2 failed, d3 is 30 h old; the flag switched just before.
    The declaration lists the flag then d1 with its two merge requests, nothing else; `suspects` says the same;
    `cause 101` records d1, names the rollback target unknown, and comments once on !12 and !14."""
    now = datetime.now(UTC).replace(microsecond=0)
    with gitlab.lock:
        gitlab.ship(1, 101, 12, title="Cache carts", author="alice", merged_at="2026-12-01T09:00:00.000Z")
        gitlab.ship(1, 101, 14, title="Fix totals", author="bob", merged_at="2026-12-01T10:00:00.000Z")
        gitlab.ship(1, 103, 9, title="Old change")
    stack.start_web()
    stack.start_worker()
    settle(stack, deployment(101, "success", now - timedelta(minutes=40)), "dep-101", "Deployment Hook")
    settle(stack, deployment(102, "failed", now - timedelta(minutes=20)), "dep-102", "Deployment Hook")
    settle(stack, deployment(103, "success", now - timedelta(hours=30)), "dep-103", "Deployment Hook")
    settle(stack, flag_on("new-checkout"), "flag-1", "Feature Flag Hook")
    started = datetime.now(UTC) + timedelta(seconds=1)  # the flag's switch is when its hook arrived
    settle(stack, body("issue.open.incident", created_at=started.isoformat()), "open-1", "Issue Hook")

    with gitlab.lock:
        declaration = str(gitlab.bot_notes()[-1]["body"])
    lines = listed(declaration)
    assert len(lines) == 4, lines
    assert lines[0].startswith("- feature flag new-checkout switched on ") and lines[0].endswith(" by root")
    assert lines[1].startswith(f"- deployment [sha101]({JOB}1001) Change 101 by root: deployed to production 4")
    assert lines[1].endswith(" min before the incident started")  # 40, or 41 on a machine slow to get here
    assert lines[2] == f"  - [gitlabhq/gitlab-test!14]({MR}14) Fix totals by bob, merged 2026-12-01 10:00 UTC"
    assert lines[3] == f"  - [gitlabhq/gitlab-test!12]({MR}12) Cache carts by alice, merged 2026-12-01 09:00 UTC"

    assert listed(command(stack, gitlab, "suspects", "cmd-suspects")) == lines
    mr_reads = [c for c in calls(gitlab) if "/deployments/" in c.path and c.path.endswith("/merge_requests")]
    assert [c.path for c in mr_reads] == ["/projects/1/deployments/101/merge_requests"]  # once, then the index

    said = command(stack, gitlab, "cause 101", "cmd-cause")
    assert "Cause recorded by @alice: deployment [sha101]" in said and "**Rollback hint**" in said
    assert "Commented on gitlabhq/gitlab-test!14, gitlabhq/gitlab-test!12, linking this incident." in said
    command(stack, gitlab, "cause !12", "cmd-cause-again")
    with gitlab.lock:
        told = {iid: [n["body"] for n in gitlab.mr_notes.get((1, iid), [])] for iid in (9, 12, 14)}
    assert len(told[12]) == len(told[14]) == 1 and told[9] == []
    assert told[12][0].startswith("This merge request was named as the cause of incident [gitlabhq/gitlab-test#23](")


def test_a_confidential_incident_names_nothing_across_projects(
    stack: Stack, gitlab: FakeGitLab, tmp_path: Path
) -> None:
    """An area shares gitlabhq/gitlab-test and secretgroup: an open incident would list secretgroup/private's
    deployment, a confidential one lists only its own project's, never reads the other's merge requests, and
    `cause !12` tells no merge request."""
    rules = tmp_path / "rules"
    shutil.copytree(TEST_RULES, rules)
    area = rules / "areas" / "reliability.yml"
    shared = "  projects: [gitlabhq/gitlab-test, secretgroup]\n  match:\n"
    area.write_text(area.read_text().replace("  match:\n", shared, 1))
    stack.env["INCIDENT_BOT_RULES"] = str(rules)
    now = datetime.now(UTC).replace(microsecond=0)
    with gitlab.lock:
        gitlab.issues[(1, 23)]["confidential"] = True
        gitlab.ship(1, 101, 12, title="Cache carts")
        gitlab.ship(3, 301, 31, title="Secret change", path="secretgroup/private")
    stack.start_web()
    stack.start_worker()
    settle(stack, deployment(101, "success", now - timedelta(minutes=40)), "dep-101", "Deployment Hook")
    secret = {"id": 3, "path_with_namespace": "secretgroup/private", "name": "Private"}
    settle(stack, deployment(301, "success", now - timedelta(minutes=10), secret), "dep-301", "Deployment Hook")
    started = datetime.now(UTC) + timedelta(seconds=1)
    opened = body("issue.open.incident", created_at=started.isoformat(), confidential=True)
    settle(stack, opened, "open-1", "Issue Hook")

    with gitlab.lock:
        declaration = str(gitlab.bot_notes()[-1]["body"])
    lines = listed(declaration)
    assert [line[:22] for line in lines] == ["- deployment [sha101](", "  - [gitlabhq/gitlab-t"], lines
    assert "secret" not in declaration.lower() and "sha301" not in declaration
    assert "Commented" not in command(stack, gitlab, "cause !12", "cmd-cause")
    touched = [c.path for c in calls(gitlab) if "/projects/3/" in c.path or "/merge_requests/12/notes" in c.path]
    assert touched == []
