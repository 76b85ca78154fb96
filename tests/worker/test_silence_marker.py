"""`silence`, `unsilence` and the expiry on close act only on the alert group whose incident this is: the group's
marker in a description people can edit is checked against the group's record (its project and iid), so another
group's marker pasted into an incident silences nothing, expires nothing and names nothing of that group."""

from __future__ import annotations

import json

from service.alerts.render import group_of
from service.worker import Runtime, process_delivery
from tests.alerts.helpers import alert, new_issues
from tests.alerts.samples import alertmanager, am_alert
from tests.conftest import payload
from tests.fakegitlab import FakeGitLab
from tests.worker.helpers import FakeAlertmanager

OPS = 1
HIDDEN = "db-primary-secret"  # a label of the other group: never in a reply on this incident


def comment(iid: int, text: str, key: str) -> str:
    """Alice (a Maintainer) comments on incident OPS#iid, through the real job."""
    data = payload("note.create.incident")
    data["object_attributes"].update(note=text, id=abs(hash(key)) % 10**9, project_id=OPS)
    data["issue"].update(iid=iid)
    data["project"]["id"] = OPS
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key, "event_uuid": key})


def close(gitlab: FakeGitLab, iid: int, key: str) -> str:
    """A person closes incident OPS#iid: the fake has it closed and the Issue Hook goes through the real job."""
    gitlab.issues[(OPS, iid)]["state"] = "closed"
    data = payload("issue.close.incident")
    data["object_attributes"].update(iid=iid, description=gitlab.issues[(OPS, iid)]["description"], state="closed")
    data["project"]["id"] = data["object_attributes"]["project_id"] = OPS
    return process_delivery(json.dumps(data).encode(), {"delivery_id": key, "event_uuid": key})


def two_incidents(gitlab: FakeGitLab) -> tuple[dict, dict]:
    """Two alert groups' incidents; the second group's silence made from its own incident."""
    alert(alertmanager(am_alert(name="DiskFull")), "a-1")
    alert(alertmanager(am_alert(name="DbDown", instance=HIDDEN), group="db"), "a-2")
    mine, theirs = new_issues(gitlab)
    return mine, theirs


def test_a_pasted_marker_of_another_group_silences_nothing_and_names_nothing(
    silencing: tuple[FakeGitLab, FakeAlertmanager], runtime: Runtime
) -> None:
    """The other group's marker pasted into this incident: `silence` and `unsilence` are refused with a reply that
    names nothing of that group; its silence, made from its own incident, stays active, also when this one closes."""
    gitlab, manager = silencing
    mine, theirs = two_incidents(gitlab)
    comment(theirs["iid"], "@incident-bot silence 2h", "c-1")
    [made] = manager.active()
    assert any("Silenced in Alertmanager until" in n["body"] for n in gitlab.bot_notes(OPS, theirs["iid"]))
    mine["description"] = theirs["description"]  # a person edits the description: the other group's marker
    comment(mine["iid"], "@incident-bot silence 2h", "c-2")
    comment(mine["iid"], "@incident-bot unsilence", "c-3")
    close(gitlab, mine["iid"], "c-4")
    assert manager.active() == [made]
    replies = "\n".join(n["body"] for n in gitlab.bot_notes(OPS, mine["iid"]))
    assert replies.count("not the incident of the alert group its description names") == 2
    group = group_of(theirs["description"])
    assert group is not None and group not in replies
    assert HIDDEN not in replies and "DbDown" not in replies and made["id"] not in replies


def test_the_groups_own_incident_still_silences_and_expires_on_close(
    silencing: tuple[FakeGitLab, FakeAlertmanager], runtime: Runtime
) -> None:
    """The group's own incident: silenced, and its silence expired when it closes."""
    gitlab, manager = silencing
    mine, _ = two_incidents(gitlab)
    comment(mine["iid"], "@incident-bot silence 2h", "c-1")
    assert len(manager.active()) == 1
    close(gitlab, mine["iid"], "c-2")
    assert manager.active() == []
