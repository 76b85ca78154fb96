"""`Deployment Hook` and `Feature Flag Hook` bodies read into frozen records, total over any JSON.

Each wrong value is a PayloadError naming its field (the edge answers 400, the worker fails the job once);
texts are cut to what the index stores and lose NUL characters (PostgreSQL refuses them), so a record
that parsed can always be written. A time that is not one, or is missing (feature-flag hooks carry none),
is when the edge received the delivery; a time outside the supported range is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..bounds import TIME_RANGE, out_of_range, parse_time
from ..fields import PayloadError, as_id, checked_text, optional_id, require

DEPLOYMENT_HOOK = "Deployment Hook"
FEATURE_FLAG_HOOK = "Feature Flag Hook"
CHANGE_HOOKS = frozenset({DEPLOYMENT_HOOK, FEATURE_FLAG_HOOK})
SUCCESS = "success"  # a deployment's status when it finished well (others: created, running, failed, canceled, ...)
PRODUCTION = "production"  # GitLab's environment tier of production environments
# What the index keeps of each text (characters); longer values are cut, never refused.
SHORT, NAME, TITLE, URL = 32, 255, 1024, 2048


class ChangeKind(StrEnum):
    """The `object_kind` of a change hook."""

    DEPLOYMENT = "deployment"
    FEATURE_FLAG = "feature_flag"


# What the edge writes as a change delivery's `event` (its header, or its object_kind without one): the worker's switch.
CHANGE_EVENTS = CHANGE_HOOKS | frozenset(ChangeKind)


@dataclass(frozen=True)
class Deployment:
    """A deployment's status as of one Deployment Hook (the index keeps the latest per deployment)."""

    project_id: int
    project_path: str
    deployment_id: int
    status: str
    environment: str
    tier: str
    deployable_url: str
    sha: str
    commit_title: str
    user: str
    status_changed_at: datetime


@dataclass(frozen=True)
class FlagChange:
    """A feature flag switched on or off."""

    project_id: int
    project_path: str
    name: str
    active: bool
    user: str
    changed_at: datetime
    flag_id: int | None = None


Change = Deployment | FlagChange


@dataclass(frozen=True)
class ChangeReference:
    """What the edge needs to queue a change: its order key (one per project) and, for logs, its ids."""

    kind: ChangeKind
    project_id: int
    iid: int  # the deployment's or the flag's id in its project (0: none given); for logs only
    actor: str = ""  # never the bot's own change: a deployment by the bot's user is still a change

    @property
    def issue_key(self) -> str:
        """The queue's order key: a project's changes are recorded one at a time, in the order they came."""
        return f"changes:{self.project_id}"


def _text(mapping: dict[str, Any], key: str, name: str, limit: int, *, required: bool = False) -> str:
    value = require(mapping, key, name.rpartition(".")[0]) if required else mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"field {name} must be a string")
    return checked_text(value, name).replace("\x00", "")[:limit]


def _time(value: Any, name: str, received_at: datetime) -> datetime:
    if out_of_range(value):
        raise PayloadError(f"field {name} must be a time {TIME_RANGE}")
    return parse_time(value) or received_at


def _project(payload: dict[str, Any]) -> tuple[int, str]:
    project = require(payload, "project", "")
    if not isinstance(project, dict):
        raise PayloadError("field project must be an object")
    project_id = as_id(require(project, "id", "project"), "project.id")
    return project_id, _text(project, "path_with_namespace", "project.path_with_namespace", NAME)


def _user(payload: dict[str, Any]) -> str:
    user = payload.get("user")
    if user is None:
        return ""
    if not isinstance(user, dict):
        raise PayloadError("field user must be an object")
    return _text(user, "username", "user.username", NAME)


def parse_deployment(payload: dict[str, Any], received_at: datetime) -> Deployment:
    """A Deployment Hook body as a Deployment."""
    project_id, path = _project(payload)
    return Deployment(
        project_id=project_id,
        project_path=path,
        deployment_id=as_id(require(payload, "deployment_id", ""), "deployment_id"),
        status=_text(payload, "status", "status", SHORT, required=True).lower(),
        environment=_text(payload, "environment", "environment", NAME, required=True),
        tier=_text(payload, "environment_tier", "environment_tier", SHORT).lower(),
        deployable_url=_text(payload, "deployable_url", "deployable_url", URL),
        sha=_text(payload, "short_sha", "short_sha", SHORT),
        commit_title=_text(payload, "commit_title", "commit_title", TITLE),
        user=_user(payload),
        status_changed_at=_time(payload.get("status_changed_at"), "status_changed_at", received_at),
    )


def parse_flag_change(payload: dict[str, Any], received_at: datetime) -> FlagChange:
    """A Feature Flag Hook body as a FlagChange (the hook carries no time: `received_at` is when it was switched)."""
    project_id, path = _project(payload)
    attrs = require(payload, "object_attributes", "")
    if not isinstance(attrs, dict):
        raise PayloadError("field object_attributes must be an object")
    active = require(attrs, "active", "object_attributes")
    if not isinstance(active, bool):
        raise PayloadError("field object_attributes.active must be true or false")
    return FlagChange(
        project_id=project_id,
        project_path=path,
        name=_text(attrs, "name", "object_attributes.name", NAME, required=True),
        active=active,
        user=_user(payload),
        changed_at=received_at,
        flag_id=optional_id(attrs.get("id")),
    )


def parse_change(payload: Any, received_at: datetime) -> Change:
    """A change hook's body as its record; PayloadError when it is neither or lacks what GitLab always sends."""
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    kind = payload.get("object_kind")
    if kind == ChangeKind.DEPLOYMENT:
        return parse_deployment(payload, received_at)
    if kind == ChangeKind.FEATURE_FLAG:
        return parse_flag_change(payload, received_at)
    raise PayloadError(f"object_kind {kind!r} is not a deployment or feature_flag")


def change_reference(change: Change) -> ChangeReference:
    """How the edge queues this change."""
    if isinstance(change, Deployment):
        return ChangeReference(ChangeKind.DEPLOYMENT, change.project_id, change.deployment_id)
    return ChangeReference(ChangeKind.FEATURE_FLAG, change.project_id, change.flag_id or 0)
