"""The alert endpoints' answers with Flask's test client and the real Redis: off without a token, 401, 413, 400
naming the field, 202 only once queued (or spooled), 503 when neither can take it; hostile requests never a 5xx."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from redis import Redis
from rq import Queue
from rq.job import Job

from service.alerts.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, grafana_signature
from service.alerts.payload import AlertPayloadError
from service.alerts.sources import parse
from service.config import Settings
from service.jobs import ALERT_FUNC
from service.rules import RuleSet
from service.web.app import create_app
from tests.alerts.samples import ALERTS_TOKEN, BEARER, alertmanager, am_alert, dumps, generic, grafana

HMAC_SECRET = "grafana-hmac-secret"


@pytest.fixture()
def on(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        settings, alerts_token=ALERTS_TOKEN, grafana_hmac_secret=HMAC_SECRET, spool_dir=tmp_path / "spool"
    )


@pytest.fixture()
def client(on: Settings, rules: RuleSet, redis_conn: Redis) -> Iterator[FlaskClient]:
    yield create_app(on, connection=redis_conn, rules=rules).test_client()


def queued(redis_conn: Redis) -> list[str]:
    return Queue("incident-bot", connection=redis_conn).job_ids


def test_the_endpoints_are_off_without_a_token(settings: Settings, rules: RuleSet, redis_conn: Redis) -> None:
    """INCIDENT_BOT_ALERTS_TOKEN unset: 404, nothing queued."""
    client = create_app(settings, connection=redis_conn, rules=rules).test_client()
    assert client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=BEARER).status_code == 404
    assert queued(redis_conn) == []


def test_an_alert_is_queued_for_the_alert_job(client: FlaskClient, redis_conn: Redis) -> None:
    """202 once queued, under the alert job's stable name; a byte-identical resend is a duplicate."""
    resp = client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=BEARER)
    assert resp.status_code == 202 and (resp.json or {})["status"] == "queued"
    [job_id] = queued(redis_conn)
    assert Job.fetch(job_id, connection=redis_conn).func_name == ALERT_FUNC
    again = client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=BEARER)
    assert again.status_code == 200 and (again.json or {})["status"] == "duplicate" and len(queued(redis_conn)) == 1


def test_generic_and_grafana_payloads_are_taken(client: FlaskClient, redis_conn: Redis) -> None:
    """GitLab's generic alert on /alerts/generic, Grafana's on /alerts/alertmanager."""
    assert client.post("/alerts/generic", data=dumps(generic()), headers=BEARER).status_code == 202
    assert client.post("/alerts/alertmanager", data=dumps(grafana()), headers=BEARER).status_code == 202
    assert len(queued(redis_conn)) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {ALERTS_TOKEN}"},
        {"Authorization": f"Bearer {ALERTS_TOKEN}x"},
        {SIGNATURE_HEADER: "00" * 32},
    ],
)
def test_a_bad_token_is_401(client: FlaskClient, redis_conn: Redis, headers: dict[str, str]) -> None:
    """No, a wrong or another scheme's token, or a wrong Grafana signature: 401, nothing queued."""
    assert client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=headers).status_code == 401
    assert queued(redis_conn) == []


def test_grafanas_hmac_is_accepted_with_or_without_its_timestamp(client: FlaskClient, redis_conn: Redis) -> None:
    """Grafana's HMAC of the body, or of `timestamp:body`, stands in for the bearer token; a stale one is 401."""
    body = dumps(grafana())
    plain = {SIGNATURE_HEADER: grafana_signature(HMAC_SECRET, body)}
    assert client.post("/alerts/alertmanager", data=body, headers=plain).status_code == 202
    stamp = str(int(time.time()))
    stamped = {SIGNATURE_HEADER: grafana_signature(HMAC_SECRET, body, stamp), TIMESTAMP_HEADER: stamp}
    assert client.post("/alerts/alertmanager", data=dumps(grafana("resolved")), headers=stamped).status_code == 401
    resolved = dumps(grafana("resolved"))
    stamped = {SIGNATURE_HEADER: grafana_signature(HMAC_SECRET, resolved, stamp), TIMESTAMP_HEADER: stamp}
    assert client.post("/alerts/alertmanager", data=resolved, headers=stamped).status_code == 202
    old = str(int(time.time()) - 3600)
    stale = {SIGNATURE_HEADER: grafana_signature(HMAC_SECRET, resolved, old), TIMESTAMP_HEADER: old}
    assert client.post("/alerts/alertmanager", data=resolved, headers=stale).status_code == 401


def test_bounds_and_fields(client: FlaskClient, on: Settings) -> None:
    """413 over the body limit; 400 naming the field; an unknown source 404."""
    big = b"{" + b" " * on.max_body_bytes + b"}"
    assert client.post("/alerts/generic", data=big, headers=BEARER).status_code == 413
    resp = client.post("/alerts/alertmanager", data=dumps({"groupKey": "g"}), headers=BEARER)
    assert resp.status_code == 400 and resp.json == {"error": "missing field alerts"}
    assert client.post("/alerts/other", data=b"{}", headers=BEARER).status_code == 404


def test_redis_down_spools_and_a_full_spool_is_503(on: Settings, rules: RuleSet, tmp_path: Path) -> None:
    """Redis unreachable: 202 spooled (fsynced on the host); spool unwritable too: 503, which Alertmanager retries."""
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    client = create_app(on, connection=dead, rules=rules).test_client()
    resp = client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=BEARER)
    assert resp.status_code == 202 and (resp.json or {})["status"] == "spooled"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the spool's directory should be")
    client = create_app(dataclasses.replace(on, spool_dir=blocked), connection=dead, rules=rules).test_client()
    assert client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=BEARER).status_code == 503


_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
)
_keys = st.sampled_from(["alerts", "groupKey", "status", "labels", "title", "fingerprint", "end_time", "startsAt"])


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A documented payload with fields replaced, removed or added at random, at the top or in an alert."""

    def mutate(data: dict[str, Any], key: str, value: Any, inside: bool, drop: bool) -> dict[str, Any]:
        copy = json.loads(json.dumps(base))
        target = copy["alerts"][0] if inside and copy.get("alerts") else copy
        if drop:
            target.pop(key, None)
        else:
            target[key] = value
        return copy

    return st.builds(mutate, st.just(base), _keys | st.text(max_size=8), _json, st.booleans(), st.booleans())


_bodies = st.one_of(
    st.binary(max_size=200),
    _json.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([alertmanager(), grafana(), generic(), alertmanager(am_alert(status="resolved"))])
    .flatmap(_mutated)
    .map(dumps),
)


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=st.sampled_from(["alertmanager", "generic"]), body=_bodies, bearer=st.booleans())
def test_hostile_payloads_never_get_a_5xx(
    source: str, body: bytes, bearer: bool, on: Settings, rules: RuleSet, redis_conn: Redis
) -> None:
    """Any body, signed or not: a 2xx or 4xx, never a 500; and what is accepted parses in the worker."""
    client = _app(on, rules, redis_conn).test_client()
    resp = client.post(f"/alerts/{source}", data=body, headers=BEARER if bearer else {"Authorization": "Bearer x"})
    assert resp.status_code in (200, 202, 400, 401, 413), resp.data
    if resp.status_code == 202:
        try:
            parse(source, body)
        except AlertPayloadError as exc:  # pragma: no cover - the failure this test exists to catch
            pytest.fail(f"accepted but the worker cannot parse it: {exc}")


_APPS: dict[int, Any] = {}


def _app(on: Settings, rules: RuleSet, redis_conn: Redis) -> Any:
    """One app per Redis connection: hypothesis calls the test hundreds of times within one fixture set-up."""
    key = id(redis_conn)
    if key not in _APPS:
        _APPS.clear()
        _APPS[key] = create_app(on, connection=redis_conn, rules=rules)
    return _APPS[key]


def counted(client: FlaskClient) -> dict[tuple[str, str], float]:
    """incident_bot_alerts_total from the app's /metrics: (source, outcome) -> count."""
    found: dict[tuple[str, str], float] = {}
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("incident_bot_alerts_total{"):
            labels = dict(pair.split("=") for pair in line[line.index("{") + 1 : line.index("}")].split(","))
            found[(labels["source"].strip('"'), labels["outcome"].strip('"'))] = float(line.split()[-1])
    return found


def test_metrics_count_alerts_by_the_tool_that_sent_them(client: FlaskClient) -> None:
    """Grafana posts to /alerts/alertmanager but is counted as grafana (its signature too, when refused); Alertmanager
    as alertmanager, a generic alert as generic."""
    before = counted(client)
    client.post("/alerts/alertmanager", data=dumps(grafana()), headers=BEARER)
    client.post("/alerts/alertmanager", data=dumps(grafana()), headers=BEARER)
    client.post("/alerts/alertmanager", data=dumps(alertmanager()), headers=BEARER)
    client.post("/alerts/generic", data=dumps(generic()), headers=BEARER)
    client.post("/alerts/alertmanager", data=dumps(grafana("resolved")), headers={SIGNATURE_HEADER: "sha256=bad"})
    after = counted(client)
    grew = {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}
    assert grew == {
        ("grafana", "queued"): 1,
        ("grafana", "duplicate"): 1,
        ("grafana", "401"): 1,
        ("alertmanager", "queued"): 1,
        ("generic", "queued"): 1,
    }
