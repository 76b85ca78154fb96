"""What the bot remembers of each alert group (its incident, its alerts' states), kept durably in Redis.

The record is the group -> incident mapping: a redelivered or repeated notification finds the incident it
opened, and an incident being opened carries a marker (`opening`) so a worker killed after GitLab created the
issue finds that issue on retry instead of opening a second. Records have no expiry: a group may fire again
months later, and `reopen_within_minutes` decides whether it returns to its incident. The new groups of the
last 60 seconds (a sliding window: a storm across a minute's boundary is one storm) and the storm record are
what `max_new_incidents_per_minute` is decided on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from redis import Redis

from ..keys import Keys
from .payload import FIRING, AlertGroup

NEW_GROUPS_WINDOW = 60  # seconds: `max_new_incidents_per_minute` counts the new groups of the last minute
STORM_WINDOW_SECONDS = 3600  # overflowing groups join the storm incident that took one within the last hour
LOCK_SECONDS = 60


def group_key(group_id: str) -> str:
    """The queue's ordering key of an alert group (beside GitLab issues' `<project>:<iid>`)."""
    return f"alerts:{group_id}"


@dataclass(frozen=True)
class GroupRecord:
    """One alert group: its incident (once opened) and every alert of it seen so far."""

    group_id: str
    source: str
    title: str = ""
    project_id: int | None = None
    project_path: str = ""
    iid: int | None = None
    url: str = ""
    severity: int | None = None
    resolved_at: float | None = None  # epoch seconds when the last alert resolved; None while any fires
    alerts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # fingerprint -> alert_state()
    opening: str = ""  # the marker of the incident being opened (set before GitLab is asked to create it)
    slot: int | None = None  # this group's place among the new groups of the last minute (claimed once)
    storm: bool = False  # gathered into the storm incident instead of an incident of its own
    labels: Mapping[str, str] = field(default_factory=dict)  # the group's labels (a silence's matchers)
    noting: str = ""  # the marker of the comment being posted (set before GitLab is asked to create it)
    area: str = ""  # the area of the route that opened its incident (`Routed.area`): shares the area's projects

    @property
    def firing(self) -> bool:
        return any(a.get("status") == FIRING for a in self.alerts.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: bytes | str) -> GroupRecord:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def alert_state(alert: Any) -> dict[str, Any]:
    """What the record keeps of one alert (enough to render its row of the table)."""
    return {
        "name": alert.name,
        "status": alert.status,
        "labels": dict(alert.labels),
        "summary": alert.annotations.get("summary", ""),
        "starts_at": alert.starts_at.timestamp() if alert.starts_at else None,
        "ends_at": alert.ends_at.timestamp() if alert.ends_at else None,
        "links": [list(link) for link in alert.links],
    }


def merged(record: GroupRecord | None, group: AlertGroup) -> dict[str, dict[str, Any]]:
    """The group's alerts after this notification: each alert it names takes its new state unless that state is
    stale (`stale`), the rest stay."""
    alerts = {fp: dict(state) for fp, state in (record.alerts if record else {}).items()}
    for alert in group.alerts:
        fresh = alert_state(alert)
        if not stale(alerts.get(alert.fingerprint), fresh):
            alerts[alert.fingerprint] = fresh
    return alerts


def stale(known: Mapping[str, Any] | None, fresh: Mapping[str, Any]) -> bool:
    """A late notification (an HA pair's second Alertmanager, a spool drained late): any state of an older firing
    than the one known (a resolved of it does not resolve the newer), or a firing of an alert known resolved whose
    startsAt is not newer (Prometheus gives a re-fired alert a new startsAt). Without both startsAt there is no
    telling: the notification counts."""
    if known is None or known.get("starts_at") is None or fresh.get("starts_at") is None:
        return False
    if fresh["starts_at"] != known["starts_at"]:
        return bool(fresh["starts_at"] < known["starts_at"])
    return known.get("status") != FIRING and fresh["status"] == FIRING


def initial(group: AlertGroup) -> GroupRecord:
    return GroupRecord(group_id=group.group_id, source=str(group.source))


class GroupStore:
    """The records in Redis, the new groups of the last minute and the storm's record (under its lock)."""

    def __init__(self, connection: Redis, keys: Keys):
        self.connection = connection
        self.keys = keys

    def get(self, group_id: str) -> GroupRecord | None:
        raw = self.connection.get(self.keys.alert_group(group_id))
        return GroupRecord.from_json(raw) if raw else None

    def put(self, record: GroupRecord) -> None:
        self.connection.set(self.keys.alert_group(record.group_id), record.to_json())

    def claim_slot(self, record: GroupRecord, now: float) -> GroupRecord:
        """Count this group among the new groups of the last minute, once (a retried job keeps its slot): its slot
        is how many new groups, itself included, were first seen in the 60 seconds up to `now`."""
        if record.slot is not None:
            return record
        key = self.keys.alert_new_groups
        pipe = self.connection.pipeline()  # MULTI/EXEC: workers claiming at once each count the others
        pipe.zremrangebyscore(key, "-inf", f"({now - NEW_GROUPS_WINDOW}")
        pipe.zadd(key, {record.group_id: now})
        pipe.zcard(key)
        pipe.expire(key, 2 * NEW_GROUPS_WINDOW)
        claimed = replace(record, slot=int(pipe.execute()[2]))
        self.put(claimed)
        return claimed

    def silences(self, group_id: str) -> list[str]:
        """The silences the bot made for the group's incident and has not expired (kept apart from the record:
        the command's job and the group's alert job write at once)."""
        return sorted(
            m.decode() if isinstance(m, bytes) else str(m)
            for m in self.connection.smembers(self.keys.alert_silences(group_id))
        )

    def add_silence(self, group_id: str, silence_id: str) -> None:
        self.connection.sadd(self.keys.alert_silences(group_id), silence_id)

    def drop_silence(self, group_id: str, silence_id: str) -> None:
        self.connection.srem(self.keys.alert_silences(group_id), silence_id)

    @contextmanager
    def storm(self, confidential_project: str = "") -> Iterator[dict[str, Any]]:
        """The storm record (the open one, or a confidential route's project's), read and written back under a lock
        (groups overflow from several workers at once)."""
        key = (
            self.keys.alert_confidential_storm(confidential_project) if confidential_project else self.keys.alert_storm
        )
        with self.connection.lock(self.keys.alert_storm_lock, timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS):
            raw = self.connection.get(key)
            state: dict[str, Any] = json.loads(raw) if raw else {}
            yield state
            self.connection.set(key, json.dumps(state, sort_keys=True))
