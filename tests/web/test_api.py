"""GET /api/incidents in the edge's app: bearer token, pages, filters, confidential redaction, clear 4xx/503."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from service.config import Settings
from service.rules import RuleSet
from service.store import EventKind, Observation, TimelineEvent, open_store
from service.web.app import create_app
from tests.e2e.harness import free_port

TOKEN = "api-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def observed(
    iid: int, *, project: str = "shop/checkout", closed: bool = False, confidential: bool = False
) -> Observation:
    """Incident `iid` started `iid` hours after T0, closed an hour later when `closed`."""
    start = T0 + timedelta(hours=iid)
    events = [TimelineEvent(start, EventKind.SEVERITY, "", "", "2", "alice", 7)]
    if closed:
        events.append(TimelineEvent(start + timedelta(hours=1), EventKind.STATE, "", "", "closed", "bob", 8))
    return Observation(
        project_id=1 if project == "shop/checkout" else 2,
        project_path=project,
        iid=iid,
        title=f"Secret plan {iid}" if confidential else f"Checkout down {iid}",
        url=f"https://gitlab.example.com/{project}/-/issues/{iid}",
        confidential=confidential,
        issue_type="incident",
        severity=2,
        state="closed" if closed else "opened",
        author="alice",
        author_id=7,
        created_at=start,
        events=tuple(events),
    )


@pytest.fixture
def client(
    database_url: str, monkeypatch: pytest.MonkeyPatch, redis_conn: Redis, rules: RuleSet
) -> Iterator[FlaskClient]:
    """The edge's app with the API token set, over an index (both backends) holding 5 incidents."""
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", database_url)
    monkeypatch.setenv("INCIDENT_BOT_API_TOKEN", TOKEN)
    store = open_store(database_url)
    for iid in range(1, 4):
        store.record(observed(iid, closed=iid == 1))
    store.record(observed(4, confidential=True))
    store.record(observed(5, project="shop/payments"))
    store.engine.dispose()
    yield create_app(
        Settings(webhook_secret="s3cret", local_trial=True), connection=redis_conn, rules=rules
    ).test_client()


def test_pages_newest_first_with_filters(client: FlaskClient) -> None:
    """Two per page: newest start first, a total and the next page; state and project narrow the list."""
    first = client.get("/api/incidents?per_page=2", headers=AUTH)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    body = first.get_json()
    assert (body["total"], body["page"], body["next_page"]) == (5, 1, 2)
    assert [i["iid"] for i in body["incidents"]] == [5, 4]
    last = client.get("/api/incidents?per_page=2&page=3", headers=AUTH).get_json()
    assert [i["iid"] for i in last["incidents"]] == [1] and last["next_page"] is None
    (closed,) = client.get("/api/incidents?state=closed", headers=AUTH).get_json()["incidents"]
    assert closed["iid"] == 1 and closed["resolved_at"] == "2026-11-01T11:00:00Z" and closed["severity"] == 2
    payments = client.get("/api/incidents?project=shop/payments", headers=AUTH).get_json()
    assert [i["iid"] for i in payments["incidents"]] == [5]
    since = client.get("/api/incidents?since=2026-11-01T12:00:00Z", headers=AUTH).get_json()
    assert since["total"] == 3


def test_a_confidential_incident_is_listed_without_title_or_links(client: FlaskClient) -> None:
    """A tool sees that a confidential incident exists and its times, not its title or address."""
    (secret,) = [i for i in client.get("/api/incidents", headers=AUTH).get_json()["incidents"] if i["iid"] == 4]
    assert secret["title"] == "Confidential incident" and secret["url"] is None and secret["confidential"]
    assert "Secret plan" not in client.get("/api/incidents", headers=AUTH).get_data(as_text=True)


def test_without_the_token_nothing_is_shown(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """No header, a wrong token or another scheme: 401 asking for a bearer token, no incident in the answer."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = client.get("/api/incidents", headers=headers)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "incidents" not in answer.get_json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(["page", "per_page", "state", "project", "group", "since"]),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
        max_size=4,
    )
)
def test_any_query_is_an_answer_or_a_clear_400(client: FlaskClient, query: dict[str, str]) -> None:
    """Whatever the query string holds (², NUL, huge numbers, odd dates): 200 or a 400 naming the parameter."""
    answer = client.get("/api/incidents", query_string=query, headers=AUTH)
    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert any(name in answer.get_json()["error"] for name in query)


def test_an_unreachable_index_is_a_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_conn: Redis, rules: RuleSet
) -> None:
    """PostgreSQL refusing connections: 503 JSON saying to retry, and the API off without a token is a 404."""
    monkeypatch.setenv("INCIDENT_BOT_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/x?connect_timeout=2")
    monkeypatch.setenv("INCIDENT_BOT_API_TOKEN", TOKEN)
    app = create_app(Settings(webhook_secret="s3cret", local_trial=True), connection=redis_conn, rules=rules)
    answer = app.test_client().get("/api/incidents", headers=AUTH)
    assert answer.status_code == 503 and "retry" in answer.get_json()["error"]
    monkeypatch.delenv("INCIDENT_BOT_API_TOKEN")
    off = create_app(Settings(webhook_secret="s3cret", local_trial=True), connection=redis_conn, rules=rules)
    assert off.test_client().get("/api/incidents", headers=AUTH).status_code == 404
