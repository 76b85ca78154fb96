"""Deployments and flag switches of acme/shop before an incident's start: what the change tests record and read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from service.changes.hooks import Deployment, FlagChange
from service.rules.settings import SuspectSettings

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # the incident's start
SETTINGS = SuspectSettings()
SHOP = "acme/shop"


def deployed(
    n: int, minutes_before: float, *, status: str = "success", tier: str = "production", **kw: Any
) -> Deployment:
    """Deployment `n` of acme/shop (project 1), its status changed `minutes_before` the incident's start."""
    fields: dict[str, Any] = {
        "project_id": 1,
        "project_path": SHOP,
        "deployment_id": n,
        "status": status,
        "environment": "production" if tier == "production" else tier,
        "tier": tier,
        "deployable_url": f"http://gitlab.test/{SHOP}/-/jobs/{900 + n}",
        "sha": f"abc{n}",
        "commit_title": f"Change {n}",
        "user": "dev",
        "status_changed_at": START - timedelta(minutes=minutes_before),
    }
    return Deployment(**{**fields, **kw})


def switched(name: str, minutes_before: float, active: bool = True, **kw: Any) -> FlagChange:
    return FlagChange(**{"project_id": 1, "project_path": SHOP, "name": name, "active": active, "user": "ops",
                         "changed_at": START - timedelta(minutes=minutes_before), **kw})  # fmt: skip


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


FIELDS = [
    "status", "status_changed_at", "deployment_id", "environment", "environment_tier", "deployable_url", "project",
    "short_sha", "user", "commit_title", "object_kind", "object_attributes",
]  # fmt: skip


TIMES = st.sampled_from(
    ["9998-12-31T23:59:59Z", "9999-12-31 23:59:59 -0100", "0001-01-01", "2026-13-01", "1e9", "", "2026-01-05"]
)
