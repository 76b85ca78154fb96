"""Event parsing against GitLab's documented payloads and variants built from them."""

from __future__ import annotations

import json

import pytest

from service.events import Kind, PayloadError, parse_event
from tests.conftest import payload


def test_documented_issue_hook_is_not_an_incident() -> None:
    """GitLab's own example is `type: Issue` without the incident label: parsed, but not an incident."""
    event = parse_event(payload("issue.open.docs"))
    assert event.kind is Kind.ISSUE
    assert (event.project_id, event.iid, event.action) == (1, 23, "open")
    assert event.actor.username == "root"
    assert event.labels == {"API"}
    assert event.labels_added == {"Platform"} and event.labels_removed == {"API"}
    assert event.severity == "high"
    assert event.is_incident is False


def test_incident_by_type() -> None:
    """`object_attributes.type == Incident` makes an incident, with no label needed."""
    event = parse_event(payload("issue.open.incident"), delivery_id="k1", event_uuid="u1")
    assert event.is_incident
    assert event.delivery_id == "k1" and event.event_uuid == "u1"
    assert event.issue_key == "1:23"
    assert event.title == "Checkout returns 500 errors"


def test_incident_by_label() -> None:
    """An ordinary issue carrying the `incident` label is an incident; an open lists it as added."""
    event = parse_event(payload("issue.open.incident-label"))
    assert event.is_incident
    assert "incident" in event.labels_added


def test_incident_label_is_configurable() -> None:
    """Organisations that call it something else still get incidents recognised."""
    data = payload("issue.open.incident-label")
    assert parse_event(data, incident_label="sev").is_incident is False


def test_work_item_kind() -> None:
    """Newer GitLab sends incidents as `object_kind: work_item`."""
    event = parse_event(payload("issue.open.work-item"))
    assert event.kind is Kind.ISSUE and event.is_incident


def test_confidential_issue() -> None:
    """Confidential incidents are marked so outbound messages can be redacted."""
    assert parse_event(payload("issue.open.confidential")).confidential is True


def test_label_change_is_a_diff() -> None:
    """A severity edit shows exactly which labels were added and removed."""
    event = parse_event(payload("issue.update.severity"))
    assert event.labels_added == {"severity::1"}
    assert event.labels_removed == set()
    assert {"severity::1", "severity::3"} <= event.labels


def test_note_on_incident() -> None:
    """A comment on an incident carries the note text and the issue's labels."""
    event = parse_event(payload("note.create.incident"))
    assert event.kind is Kind.NOTE and event.is_incident
    assert event.note == "Rolled back the deploy; error rate falling."
    assert event.iid == 23 and event.project_id == 1
    assert event.url.endswith("/issues/23")


def test_note_on_non_incident() -> None:
    """GitLab's documented note example is on an ordinary issue."""
    event = parse_event(payload("note.create.docs"))
    assert event.kind is Kind.NOTE and event.is_incident is False
    assert event.iid == 17


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("object_attributes"), "object_attributes"),
        (lambda d: d["object_attributes"].pop("iid"), "iid"),
        (lambda d: d.pop("user"), "user"),
        (lambda d: d["object_attributes"].update(iid="x"), "integer"),
        (lambda d: d.update(object_kind="pipeline"), "object_kind"),
    ],
)
def test_missing_fields_are_named(mutate, message) -> None:  # type: ignore[no-untyped-def]
    """A malformed delivery raises PayloadError naming what is wrong."""
    data = payload("issue.open.incident")
    mutate(data)
    with pytest.raises(PayloadError, match=message):
        parse_event(data)


def test_event_is_frozen() -> None:
    """Handlers cannot change an event."""
    event = parse_event(json.loads(json.dumps(payload("issue.open.incident"))))
    with pytest.raises(AttributeError):
        event.iid = 1  # type: ignore[misc]


def test_reference_is_what_the_edge_needs() -> None:
    """The edge's light parse: issue key and actor, for an issue hook and a note hook."""
    from service.events import reference

    issue = reference(payload("issue.open.incident"))
    note = reference(payload("note.create.incident"))
    assert (issue.kind, issue.issue_key, issue.actor) == (Kind.ISSUE, "1:23", "alice")
    assert (note.kind, note.issue_key, note.actor) == (Kind.NOTE, "1:23", "alice")
    broken = payload("note.create.incident")
    del broken["issue"]["iid"]
    with pytest.raises(PayloadError, match="issue.iid"):
        reference(broken)
