"""Hostile change hooks never fail the worker repeatedly: what the edge accepts is recorded on both backends,
and what it refuses fails the job once (no retry). Hypothesis, against SQLite and the real PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.changes.hooks import ChangeReference
from service.events import PayloadError
from service.store import Store, open_store
from service.web.edge import Accepted, Rejected, classify
from service.worker.changes import ChangeNotRecorded, record_change
from service.worker.index import DeliveryIndex
from service.worker.runtime import Runtime
from tests.changes.helpers import FIELDS, JSON, TIMES
from tests.conftest import payload
from tests.e2e.harness import free_port


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    which=st.sampled_from(["deployment.success.docs", "feature_flag.on.docs"]),
    changes=st.dictionaries(
        st.sampled_from(FIELDS),
        JSON | TIMES | st.text(min_size=3000, max_size=4000) | st.just("x\x00" * 3000) | st.integers(2**62, 2**63 - 1),
        max_size=4,
    ),
    received=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70) | st.none(),
)
def _hostile(runtime: Runtime, store: Store, which: str, changes: dict[str, Any], received: Any) -> None:
    data = {**payload(which), **changes}
    body = json.dumps(data).encode()
    meta = {"delivery_id": "hostile", "event": "deployment" if which.startswith("d") else "feature_flag"}
    meta["received_at"] = received
    try:
        decision = classify({}, body)  # no header: the body's object_kind says which hook it is
    except Rejected:
        with pytest.raises(PayloadError):  # the worker refuses it as the edge did (and gives up at once)
            record_change(runtime, body, meta)
        return
    if not isinstance(decision, Accepted) or not isinstance(decision.ref, ChangeReference):
        return
    assert record_change(runtime, body, meta).startswith("recorded")


def test_hostile_change_hooks_are_recorded_or_refused_once(runtime: Runtime, store: Store) -> None:
    """Wrong types, huge strings and numbers, NULs, far-future and impossible times, odd arrival stamps."""
    runtime.index = DeliveryIndex(lambda: store)
    _hostile(runtime, store)


def test_no_index_drops_the_change_and_a_dead_index_is_retried(runtime: Runtime) -> None:
    """A worker without an index logs the change; an index that cannot be opened raises, so RQ retries the job."""
    body = json.dumps(payload("deployment.success.docs")).encode()
    meta = {"delivery_id": "d", "event": "Deployment Hook"}
    assert record_change(runtime, body, meta) == "ignored: no index"
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"
    runtime.index = DeliveryIndex(lambda: open_store(dead))
    with pytest.raises(ChangeNotRecorded, match="deployment 15 success to 'staging': the incident index is not open"):
        record_change(runtime, body, meta)
