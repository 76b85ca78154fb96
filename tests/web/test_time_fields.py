"""The times of a delivery the index reads: a time outside the supported range is a 400 naming its field.

Such a delivery used to be queued (202) and then went missing from the index: the worker could not turn
`9999-12-31T23:59:59-01:00` into UTC. The edge now refuses it like any other bad field.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue

from service.config import Settings
from service.rules import RuleSet
from service.web.app import create_app
from tests.conftest import hook_headers, payload

OUT_OF_RANGE = [
    "9999-12-31T23:59:59-01:00",  # no UTC equivalent: past datetime's maximum once converted
    "0001-01-01T00:00:00+01:00",  # before datetime's minimum once converted
    "9999-06-01 10:00:00 UTC",  # the hooks' own format, in range for datetime but not for the index
    "1900-01-01T00:00:00Z",
]
# (fixture, the object holding the field, the field's name in the answer)
FIELDS = [
    ("issue.open.incident", "object_attributes", "created_at"),
    ("issue.open.incident", "object_attributes", "updated_at"),
    ("note.create.incident", "object_attributes", "created_at"),
    ("note.create.incident", "object_attributes", "updated_at"),
    ("note.create.incident", "issue", "created_at"),
    ("note.create.incident", "issue", "updated_at"),
]


@pytest.fixture()
def client(settings: Settings, rules: RuleSet, redis_conn: Redis) -> FlaskClient:
    """The edge's app on the test Redis."""
    return create_app(settings, connection=redis_conn, rules=rules).test_client()


def post(
    client: FlaskClient, fixture: str, where: str, field: str, value: str | None, key: str
) -> tuple[int, dict[str, Any]]:
    """POST `fixture` with `where.field` set to `value`; the status and the JSON answer."""
    data = payload(fixture)
    data[where][field] = value
    event = "Note Hook" if fixture.startswith("note") else "Issue Hook"
    answer = client.post("/webhook", data=json.dumps(data), headers=hook_headers(event, key=key))
    return answer.status_code, answer.get_json()


@pytest.mark.parametrize(("fixture", "where", "field"), FIELDS)
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_time_out_of_range_is_400_naming_the_field(
    client: FlaskClient, redis_conn: Redis, fixture: str, where: str, field: str, value: str
) -> None:
    """An out-of-range created_at/updated_at is refused with the field's path, and nothing is queued."""
    status, answer = post(client, fixture, where, field, value, key="out-of-range")
    assert status == 400, answer
    assert f"{where}.{field}" in answer["error"] and "1970-01-01" in answer["error"]
    assert Queue("incident-bot", connection=redis_conn).job_ids == []


@pytest.mark.parametrize(
    "value", ["2015-04-12 14:53:17 UTC", "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:00+05:30", "", None]
)
def test_times_gitlab_sends_are_accepted(client: FlaskClient, value: str | None) -> None:
    """GitLab's forms of a time (and a missing one) are queued as before."""
    for n, (fixture, where, field) in enumerate(FIELDS):
        status, answer = post(client, fixture, where, field, value, key=f"in-range-{n}-{value}")
        assert status == 202, answer
