"""A deployment as GitLab's Deployments API lists it, read into the record its Deployment Hook gives (total over JSON).

`reindex --since` backfills deployments from `GET /projects/:id/deployments` (`store/reindex_changes.py`); each row
becomes the same `Deployment` the hook would have, so the index keeps one row per deployment whichever way it came.
The listing's row names no project (the caller passes the project it listed) and, before GitLab 16, no environment
tier: then the tier is guessed from the environment's name the way GitLab guesses it. A row that lacks what every
deployment has (its id, status, environment, a time) is a PayloadError naming the field: the caller skips it.
"""

from __future__ import annotations

import re
from typing import Any

from ..bounds import EARLIEST, LATEST, TIME_RANGE, parse_time
from ..fields import PayloadError, as_id, require
from .hooks import NAME, SHORT, TITLE, URL, Deployment, _text

# GitLab's own guess of an environment's tier from its name (`Environment#guess_tier`), in its order.
_TIERS = (
    ("development", re.compile(r"(dev|review|trunk)", re.IGNORECASE)),
    ("testing", re.compile(r"(test|tst|int|ac(ce|)pt|qa|qc|control|quality)", re.IGNORECASE)),
    ("staging", re.compile(r"(st(a|)g|mod(e|)l|pre|demo|non)", re.IGNORECASE)),
    ("production", re.compile(r"(pr(o|)d|live)", re.IGNORECASE)),
)


def guess_tier(environment: str) -> str:
    """The tier GitLab gives an environment of this name when none was set (`other` when nothing matches)."""
    return next((tier for tier, pattern in _TIERS if pattern.search(environment)), "other")


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"field {name} must be an object")
    return value


def parse_listed(row: Any, project_id: int, project_path: str) -> Deployment:
    """One row of `GET /projects/:id/deployments` as the Deployment its hook would have recorded."""
    if not isinstance(row, dict):
        raise PayloadError("a deployment must be a JSON object")
    environment = _object(require(row, "environment", ""), "environment")
    deployable = _object(row.get("deployable"), "deployable")
    commit = _object(deployable.get("commit"), "deployable.commit")
    name = _text(environment, "name", "environment.name", NAME, required=True)
    tier = _text(environment, "tier", "environment.tier", SHORT).lower() or guess_tier(name)
    # A listed deployment is dated by GitLab, never by us: without a time it cannot be placed, so it is skipped.
    when = parse_time(row.get("updated_at")) or parse_time(row.get("created_at"))
    if when is None or not EARLIEST <= when < LATEST:
        raise PayloadError(f"field updated_at must be a time {TIME_RANGE}")
    sha = _text(row, "sha", "sha", 64)[:8] or _text(commit, "short_id", "deployable.commit.short_id", SHORT)
    return Deployment(
        project_id=project_id,
        project_path=project_path,
        deployment_id=as_id(require(row, "id", ""), "id"),
        status=_text(row, "status", "status", SHORT, required=True).lower(),
        environment=name,
        tier=tier,
        deployable_url=_text(deployable, "web_url", "deployable.web_url", URL),
        sha=sha[:SHORT],
        commit_title=_text(commit, "title", "deployable.commit.title", TITLE),
        user=_text(_object(row.get("user"), "user"), "username", "user.username", NAME),
        status_changed_at=when,
    )
