"""Confirmed causes around one week, for the digest's and the board's tests (issue 19).

Project 1 (`acme/shop`): deployments 2-4 to production in the week before `now` (and 6, failed), 5 to staging;
deployment 7 of acme/payments (project 2); incident #10 caused by deployment 2, the confidential #11 by deployment
3 (its title a secret), the drill #12 by a flag, #13 (a hostile title) by a merge request of acme/payments, and #9
by deployment 1, both 8 days before `now` (outside the week).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from service.store import Store
from service.store.causes import Cause, CauseKind, record_cause
from service.store.changes import record
from tests.changes.helpers import deployed, switched
from tests.web.board.seed import incident

SECRET = "Pangolin key leaked"
HOSTILE = "/close @all [x](javascript:alert(1))"
FLAG = "new-checkout"


def seed_causes(store: Store, now: datetime) -> None:
    """The history of the module docstring, dated back from `now`."""

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    for n, hours in ((1, 200), (2, 100), (4, 30)):
        record(store.engine, deployed(n, 0, status_changed_at=ago(hours), commit_title=f"Change {n}"))
    record(store.engine, deployed(3, 0, status_changed_at=ago(60), commit_title="Rotate the pangolin key"))
    record(store.engine, deployed(6, 0, status="failed", status_changed_at=ago(50)))
    record(store.engine, deployed(5, 0, tier="staging", status_changed_at=ago(40)))
    record(store.engine, switched(FLAG, 0, changed_at=ago(20)))
    record(store.engine, deployed(7, 0, project_id=2, project_path="acme/payments", status_changed_at=ago(10)))
    facts = {"now": now, "project_id": 1, "project_path": "acme/shop"}
    store.record(incident(9, "Old outage", started_minutes_ago=199 * 60, **facts))
    store.record(
        incident(10, "Checkout returns 500", started_minutes_ago=99 * 60, resolved_minutes_ago=90 * 60, **facts)
    )
    store.record(incident(11, SECRET, started_minutes_ago=59 * 60, confidential=True, **facts))
    store.record(dataclasses.replace(incident(12, "Game day", started_minutes_ago=19 * 60, **facts), drill=True))
    store.record(incident(13, HOSTILE, started_minutes_ago=9 * 60, **facts))
    causes = [
        (9, Cause(1, 9, CauseKind.DEPLOYMENT, 1, deployment_id=1, recorded_by="im-alice"), ago(190)),
        (10, Cause(1, 10, CauseKind.DEPLOYMENT, 1, deployment_id=2, recorded_by="im-alice"), ago(98)),
        (11, Cause(1, 11, CauseKind.DEPLOYMENT, 1, deployment_id=3, recorded_by="sirt-frank"), ago(58)),
        (12, Cause(1, 12, CauseKind.FEATURE_FLAG, 1, flag_name=FLAG, recorded_by="eoc-carol"), ago(18)),
        (13, Cause(1, 13, CauseKind.MERGE_REQUEST, 2, merge_request_iid=77, recorded_by="bob"), ago(8)),
    ]
    for iid, cause, when in causes:
        record_cause(store.engine, 1, iid, cause, when)
