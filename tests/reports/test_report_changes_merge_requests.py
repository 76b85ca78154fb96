"""`report --changes` with merge requests named as causes: each counts against the first successful production
deployment that carried it (figures worked out by hand, SQLite and PostgreSQL); a flag against none."""

from __future__ import annotations

from datetime import UTC, datetime

from service.gitlab.changes import MergeRequest
from service.reports.changes import change_figures
from service.store import Store
from service.store.causes import Cause, CauseKind, caused_incidents, record_cause
from service.store.changes import deployments_between, record
from service.store.mergerequests import keep
from tests.changes.helpers import deployed
from tests.web.board.seed import incident

NOW = datetime(2026, 4, 1, tzinfo=UTC)
FROM = datetime(2026, 3, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def history(store: Store) -> None:
    """Production deployments 1-4 in March, 5 failed (6 March), 6 in February, 7 to staging (3 March).

    !40 was carried by 7 (staging), 5 (failed), 3 and 4: its first successful production deployment is 3.
    !41 by 6 (February) and 2: its first is 6, outside the window. !42 by none the index knows.
    Incidents: 20 caused by !40 (45 min after d3, restored in 30), 21 by !41, 22 by !42, 23 by deployment 1
    (20 min after it, restored in 90), 24 by a flag.
    """
    for n, when in ((1, at(2, 8)), (2, at(5, 10)), (3, at(10, 12)), (4, at(20, 9))):
        record(store.engine, deployed(n, 0, status_changed_at=when))
    record(store.engine, deployed(5, 0, status="failed", status_changed_at=at(6, 9)))
    record(store.engine, deployed(6, 0, status_changed_at=at(20, 9, month=2)))
    record(store.engine, deployed(7, 0, tier="staging", status_changed_at=at(3, 9)))
    for n, iids in ((7, [40]), (5, [40]), (3, [40]), (4, [40]), (6, [41]), (2, [41]), (1, [])):
        keep(store.engine, (1, n), [MergeRequest(1, iid, f"MR {iid}", "dev") for iid in iids])
    started = {20: (at(10, 12, 45), 30), 21: (at(5, 11), 10), 22: (at(6, 8), 10), 23: (at(2, 8, 20), 90)}
    started |= {24: (at(7, 8), 5)}
    for iid, (start, restored) in started.items():
        ago = (NOW - start).total_seconds() / 60
        store.record(
            incident(
                iid, f"Incident {iid}", now=NOW, started_minutes_ago=ago, project_id=1, project_path="acme/shop",
                resolved_minutes_ago=ago - restored,
            )
        )  # fmt: skip
    for iid, mr in ((20, 40), (21, 41), (22, 42)):
        record_cause(store.engine, 1, iid, Cause(1, iid, CauseKind.MERGE_REQUEST, 1, merge_request_iid=mr))
    record_cause(store.engine, 1, 23, Cause(1, 23, CauseKind.DEPLOYMENT, 1, deployment_id=1))
    record_cause(store.engine, 1, 24, Cause(1, 24, CauseKind.FEATURE_FLAG, 1, flag_name="new-checkout"))


def test_a_merge_request_counts_against_the_first_production_deployment_that_carried_it(store: Store) -> None:
    """Production: 4 deployments in March, 2 caused incidents (d1 directly, d3 through !40): rate 0.5, minutes to
    the incident 20 and 45 (nearest-rank median 20), to restore 90 and 30 (median 30). !41's first deployment (6)
    is February's, !42 none, the flag none: they count nowhere. Staging carried !40 first but is not production."""
    history(store)
    figures = change_figures(deployments_between(store.engine, FROM, NOW), caused_incidents(store.engine))
    assert {name: vars(f) for name, f in figures.items()} == {
        "acme/shop/production": {
            "deployments": 4,
            "caused_incidents": 2,
            "change_failure_rate": 0.5,
            "median_minutes_to_incident": 20.0,
            "median_minutes_to_restore": 30.0,
        },
        "acme/shop/staging": {
            "deployments": 1,
            "caused_incidents": 0,
            "change_failure_rate": 0.0,
            "median_minutes_to_incident": None,
            "median_minutes_to_restore": None,
        },
    }
    caused = {(c.iid, c.deployment.deployment_id) for c in caused_incidents(store.engine)}
    assert caused == {(20, 3), (21, 6), (23, 1)}
