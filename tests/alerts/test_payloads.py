"""Each sender's documented payload parses into one AlertGroup; a wrong one is refused naming the field."""

from __future__ import annotations

import pytest

from service.alerts.payload import FIRING, RESOLVED, AlertPayloadError, AlertSource
from service.alerts.sources import parse
from tests.alerts.samples import alertmanager, am_alert, dumps, generic, grafana


def test_alertmanager_payload_is_one_group() -> None:
    """Alertmanager's body: its groupKey, each alert's status, labels, times (nanoseconds read) and links."""
    group = parse("alertmanager", dumps(alertmanager(am_alert(), am_alert(instance="web-2", status="resolved"))))
    assert group.source is AlertSource.ALERTMANAGER
    assert [a.status for a in group.alerts] == [FIRING, RESOLVED]
    first = group.alerts[0]
    assert first.starts_at is not None and first.starts_at.microsecond == 123456
    assert first.ends_at is None  # Go's zero time while firing
    assert dict(first.links)["runbook"] == "https://runbooks.example.com/errors"
    assert group.alerts[1].ends_at is not None


def test_grafana_payload_keeps_its_links_and_title() -> None:
    """Grafana posts to the Alertmanager endpoint; its title and silence link are kept, empty links dropped."""
    group = parse("alertmanager", dumps(grafana()))
    assert group.source is AlertSource.GRAFANA
    assert group.title.startswith("[FIRING:1]")
    assert dict(group.alerts[0].links).keys() == {"source", "runbook", "silence"}


def test_generic_alert_groups_by_fingerprint() -> None:
    """GitLab's generic alert: one alert, grouped by fingerprint; its fields become labels routes can match."""
    one = parse("generic", dumps(generic()))
    again = parse("generic", dumps(generic(title="Another title")))
    assert one.group_id == again.group_id
    assert one.alerts[0].labels["service"] == "service affected" and one.alerts[0].status == FIRING
    assert "foo" not in one.alerts[0].labels  # an object is no label
    listed = parse("generic", dumps(generic(fingerprint=["a", "b"])))
    assert listed.group_id != one.group_id


def test_generic_alert_with_end_time_is_resolved() -> None:
    """`end_time` set means resolved."""
    assert parse("generic", dumps(generic(end_time="2019-09-12T07:00:00Z"))).alerts[0].status == RESOLVED


@pytest.mark.parametrize(
    ("source", "payload", "named"),
    [
        ("alertmanager", {"groupKey": "g"}, "missing field alerts"),
        ("alertmanager", {**alertmanager(), "alerts": []}, "field alerts must be a non-empty list"),
        ("alertmanager", {**alertmanager(), "groupKey": 5}, "field groupKey must be a string"),
        ("alertmanager", {k: v for k, v in alertmanager().items() if k != "groupKey"}, "missing field groupKey"),
        ("alertmanager", alertmanager({**am_alert(), "status": "odd"}), "alerts[0].status"),
        ("alertmanager", alertmanager({**am_alert(), "labels": {"a": 1}}), "alerts[0].labels.a must be a string"),
        ("alertmanager", alertmanager({**am_alert(), "startsAt": "yesterday"}), "alerts[0].startsAt"),
        ("generic", {"description": "no title"}, "missing field title"),
        ("generic", generic(fingerprint=[1]), "field fingerprint"),
        ("generic", generic(start_time=7), "field start_time must be a string"),
    ],
)
def test_a_wrong_field_is_named(source: str, payload: dict[str, object], named: str) -> None:
    """Missing or ill-typed fields are refused with their name (the edge's 400)."""
    with pytest.raises(AlertPayloadError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse(source, dumps(payload))


def test_not_json_and_too_deep_are_refused() -> None:
    """Bodies that are no JSON object, or nest too deeply, are refused before any field is read."""
    for body in (b"{", b"[]", b"\xff", b"[" * 100_000):
        with pytest.raises(AlertPayloadError):
            parse("alertmanager", body)
    with pytest.raises(AlertPayloadError, match="nests too deeply"):
        parse(
            "generic",
            dumps({"title": "x", "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
        )
