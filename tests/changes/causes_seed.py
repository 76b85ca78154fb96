"""Confirmed causes around one week, for the digest's and the board's tests (issue 19).

Project 1 (`acme/shop`): deployments 2-4 to production in the week before `now` (and 6, failed), 5 to staging;
deployment 7 of acme/payments (project 2); incident #10 caused by deployment 2, the confidential #11 by deployment
3 (its title a secret), the drill #12 by a flag, #13 (a hostile title) by a merge request of acme/payments, and #9
by deployment 1, both 8 days before `now` (outside the week).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from service.store import Observation, Store
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

    def seen(iid: int, title: str, hours: float, **more: Any) -> Observation:
        return incident(iid, title, now=now, started_minutes_ago=hours * 60, project_id=1, project_path="acme/shop",
                        **more)  # fmt: skip

    store.record(seen(9, "Old outage", 199))
    store.record(seen(10, "Checkout returns 500", 99, resolved_minutes_ago=90 * 60))
    store.record(seen(11, SECRET, 59, confidential=True))
    store.record(dataclasses.replace(seen(12, "Game day", 19), drill=True))
    store.record(seen(13, HOSTILE, 9))
    causes = [
        (9, Cause(1, 9, CauseKind.DEPLOYMENT, 1, deployment_id=1, recorded_by="im-alice"), ago(190)),
        (10, Cause(1, 10, CauseKind.DEPLOYMENT, 1, deployment_id=2, recorded_by="im-alice"), ago(98)),
        (11, Cause(1, 11, CauseKind.DEPLOYMENT, 1, deployment_id=3, recorded_by="sirt-frank"), ago(58)),
        (12, Cause(1, 12, CauseKind.FEATURE_FLAG, 1, flag_name=FLAG, recorded_by="eoc-carol"), ago(18)),
        (13, Cause(1, 13, CauseKind.MERGE_REQUEST, 2, merge_request_iid=77, recorded_by="bob"), ago(8)),
    ]
    for iid, cause, when in causes:
        record_cause(store.engine, 1, iid, cause, when)


PRIVATE = "secret/vault"  # project 3: no incident anyone may see, so no reader of the board or digest sees its name


def seed_private(store: Store, now: datetime) -> None:
    """Project 3 (`secret/vault`): deployment 8 to production 5 hours before `now`, the cause of its confidential
    incident #1, its only incident."""
    at = now - timedelta(hours=5)
    record(store.engine, deployed(8, 0, project_id=3, project_path=PRIVATE, status_changed_at=at))
    store.record(incident(1, "Vault sealed", now=now, started_minutes_ago=4 * 60, project_id=3, project_path=PRIVATE,
                          confidential=True))  # fmt: skip
    cause = Cause(3, 1, CauseKind.DEPLOYMENT, 3, deployment_id=8, recorded_by="sirt-frank")
    record_cause(store.engine, 3, 1, cause, now - timedelta(hours=3))
