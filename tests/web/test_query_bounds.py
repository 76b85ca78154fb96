"""Every query-string parameter of every page is read by the one bounded parser: a clear 400, never a 500.

`/api/incidents` answered 500 for `since=9999-12-31T23:59:59-01:00`, `since=0001-01-01T00:00:00+01:00` and
`project=9223372036854775808` (a number past the index's bigint). Hypothesis sends such values, and any
other, to the API, the board, its search, the incident page and the handbook, on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from service.config import Settings
from service.rules import RuleSet
from service.store import EventKind, Observation, TimelineEvent, open_store
from service.web.app import create_app
from tests.boundvalues import values

TOKEN = "api-token-for-bounds"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
API_PARAMETERS = ["page", "per_page", "state", "project", "group", "since"]
SEARCH_PARAMETERS = ["q", "severity", "from"]


@pytest.fixture
def client(
    database_url: str, monkeypatch: pytest.MonkeyPatch, redis_conn: Redis, rules: RuleSet
) -> Iterator[FlaskClient]:
    """The edge's app (API token set, a local trial so the board opens to this machine) over an index of 2."""
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    monkeypatch.setenv("INCIDENT_BOT_API_TOKEN", TOKEN)
    for name in ("INCIDENT_BOT_BOARD_CLIENT_ID", "INCIDENT_BOT_BOARD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    store = open_store(database_url)
    for iid in (1, 2):
        start = T0 + timedelta(hours=iid)
        store.record(
            Observation(
                project_id=1,
                project_path="shop/checkout",
                iid=iid,
                title=f"Checkout down {iid}",
                issue_type="incident",
                severity=2,
                created_at=start,
                events=(TimelineEvent(start, EventKind.SEVERITY, "", "", "2", "alice", 7),),
            )
        )
    store.engine.dispose()
    yield create_app(
        Settings(webhook_secret="s3cret", local_trial=True), connection=redis_conn, rules=rules
    ).test_client()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"since": "9999-12-31T23:59:59-01:00"}, "since"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"project": "9223372036854775808"}, "project"),
    ],
)
def test_the_issue_s_queries_are_400_naming_the_parameter(
    client: FlaskClient, query: dict[str, str], parameter: str
) -> None:
    """The three queries that answered 500: a 400 whose error names the parameter and the range."""
    answer = client.get("/api/incidents", query_string=query, headers=AUTH)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"].startswith(f"{parameter} must be")


def test_the_search_refuses_a_date_out_of_range(client: FlaskClient) -> None:
    """The board's search: `from=0001-01-01` is a 400 page naming `from`, as the API names `since`."""
    answer = client.get("/incidents", query_string={"from": "0001-01-01"}, environ_base=LOOPBACK)
    assert answer.status_code == 400 and "from must be" in answer.get_data(as_text=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(API_PARAMETERS), values, max_size=4))
def test_the_api_answers_any_query_or_names_the_parameter(client: FlaskClient, query: dict[str, str]) -> None:
    """/api/incidents: 200, or a 400 whose error starts with the parameter's name."""
    answer = client.get("/api/incidents", query_string=query, headers=AUTH)
    assert answer.status_code in (200, 400), (query, answer.get_data(as_text=True))
    if answer.status_code == 400:
        assert any(answer.get_json()["error"].startswith(f"{name} must be") for name in query)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(st.sampled_from([*SEARCH_PARAMETERS, "token", "scheme", "next"]), values, max_size=4),
    values,
    values,
    values,
)
def test_the_pages_answer_any_query_without_a_server_error(
    client: FlaskClient, query: dict[str, str], project: str, iid: str, section: str
) -> None:
    """The board, its live part and chart, search, an incident's page, the handbook: never a 5xx."""
    paths = [
        "/board",
        "/board/live",
        "/board/chart.svg",
        "/incidents",
        f"/incidents/{quote(project, safe='')}/{quote(iid, safe='')}",
        f"/incidents/shop/checkout/{quote(iid, safe='')}",
        f"/handbook/{quote(section, safe='')}",
        "/board/sign-in",
    ]
    for path in paths:
        answer = client.get(path, query_string=query, environ_base=LOOPBACK)
        assert answer.status_code < 500, (path, query, answer.status_code)
