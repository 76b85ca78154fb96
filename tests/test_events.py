"""Event parsing against GitLab's documented payloads and variants built from them."""

from __future__ import annotations

import json

import pytest

from service.events import Kind, PayloadError, is_incident, issue_type_of, parse_event
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
def test_missing_fields_are_named(mutate, message) -> None:
    """A malformed delivery raises PayloadError naming what is wrong."""
    data = payload("issue.open.incident")
    mutate(data)
    with pytest.raises(PayloadError, match=message):
        parse_event(data)


def test_event_is_frozen() -> None:
    """Handlers cannot change an event."""
    event = parse_event(json.loads(json.dumps(payload("issue.open.incident"))))
    with pytest.raises(AttributeError):
        event.iid = 1  # type: ignore[misc]  # the point: mypy, like the frozen dataclass, refuses it


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


# Totality: parse_event answers every JSON value with an Event or a PayloadError naming the field.
WRONG_VALUES = [5, True, -1, 0, 1.5, float("inf"), float("nan"), 10**40, "", "x", "\ud800", [], [1], {}, {"a": 1}, None]


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path of a JSON document (lists by index), containers included."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(document: object, path: tuple[str | int, ...], value: object) -> object:
    """A copy of `document` with the value at `path` replaced."""
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


FIXTURE_NAMES = ["issue.open.incident", "issue.update.severity", "issue.open.docs", "note.create.incident"]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_field_with_every_wrong_type_is_an_event_or_a_named_error(name: str) -> None:
    """Any value in any field: an Event or a PayloadError, never TypeError/AttributeError/OverflowError."""
    document = payload(name)
    for path in _paths(document):
        for value in WRONG_VALUES:
            try:
                parse_event(_replaced(document, path, value))
            except PayloadError as exc:
                assert "field" in str(exc) or "object_kind" in str(exc), (path, value, exc)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("assignees", 5, "field assignees must be a list"),
        ("assignees", True, "field assignees must be a list"),
        ("assignees", {"username": "x"}, "field assignees must be a list"),
        ("iid", float("inf"), "object_attributes.iid must be an integer"),
        ("iid", 1e400, "object_attributes.iid must be an integer"),
        ("iid", 0, "object_attributes.iid must be a positive integer"),
        ("iid", -3, "object_attributes.iid must be a positive integer"),
        ("iid", 2**64, "object_attributes.iid must be a positive integer"),
        ("project_id", -1, "project.id must be a positive integer"),
        ("title", ["x"], "object_attributes.title must be a string"),
        ("title", "bad \ud800 text", "object_attributes.title must be valid text"),
    ],
)
def test_wrong_types_are_named(field: str, value: object, message: str) -> None:
    """The fields the worker needs, with the wrong type or range: PayloadError naming the field."""
    data = payload("issue.open.incident")
    if field == "assignees":
        data["assignees"] = value
    elif field == "project_id":
        data["project"]["id"] = value
    else:
        data["object_attributes"][field] = value
    with pytest.raises(PayloadError, match=message.replace(".", r"\.")):
        parse_event(data)


def test_user_with_surrogate_username_is_named() -> None:
    """A username that cannot be encoded (lone surrogate) is a PayloadError, not a crash later."""
    data = payload("note.create.incident")
    data["user"]["username"] = "\udcff"
    with pytest.raises(PayloadError, match=r"user\.username"):
        parse_event(data)


# (where the shape comes from, the issue's fields, its labels, an incident?)
INCIDENT_SHAPES = [
    ("Issue Hook, type Incident", {"type": "Incident"}, [], True),
    ("Issue Hook, plain issue", {"type": "Issue"}, [], False),
    ("REST, issue_type incident", {"issue_type": "incident", "type": "INCIDENT"}, [], True),
    ("REST, plain issue", {"issue_type": "issue", "type": "ISSUE"}, [], False),
    ("GraphQL / REST type only", {"type": "INCIDENT"}, [], True),
    ("work_item hook, lower-case type", {"type": "incident"}, [], True),
    ("no type at all", {}, [], False),
    ("a type that is no text", {"type": ["Incident"]}, [], False),
    ("Issue Hook, incident label object", {"type": "Issue"}, [{"title": "incident"}], True),
    ("REST, incident label name", {"issue_type": "issue"}, ["incident"], True),
    ("label cased otherwise: another label", {"type": "Issue"}, [{"title": "Incident"}, "INCIDENT"], False),
    ("a label that merely contains the name", {}, ["incidents", {"title": "incident-review"}], False),
    ("a label object without a title", {}, [{"name": "incident"}], False),
]


@pytest.mark.parametrize(
    ("issue", "labels", "expected"), [s[1:] for s in INCIDENT_SHAPES], ids=[s[0] for s in INCIDENT_SHAPES]
)
def test_is_incident_over_every_shape_gitlab_sends(
    issue: dict[str, object], labels: list[object], expected: bool
) -> None:
    """Type Incident in any of GitLab's spellings, or the incident label exactly as named, makes an incident."""
    assert is_incident(issue_type_of(issue), labels, "incident") is expected


def test_is_incident_uses_the_configured_label() -> None:
    """With `incident_label: sev`, the label `incident` means nothing and `sev` makes an incident."""
    assert is_incident("Issue", ["incident"], "sev") is False
    assert is_incident("Issue", [{"title": "sev"}], "sev") is True


def test_hook_with_lower_case_type_is_an_incident() -> None:
    """An Issue Hook saying `type: incident` (casing as on the REST API) is parsed as an incident too."""
    data = payload("issue.open.docs")
    data["object_attributes"]["type"] = "incident"
    assert parse_event(data).is_incident is True
