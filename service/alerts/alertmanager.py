"""A small Alertmanager API v2 client: create, find and expire the silences the bot makes for alert incidents.

Alertmanager is not GitLab: the worker calls it directly with `requests` and bounded timeouts. Every failure is
one AlertmanagerError whose message names the call and the answer, never a URL's credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

TIMEOUT = (3.05, 10.0)  # connect, read: a silence command waits at most this for Alertmanager
EXPIRED = "expired"


class AlertmanagerError(Exception):
    """Alertmanager could not be reached or refused the call."""


def matchers(labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Equality matchers for every label of the group, in label order (API v2's matcher objects)."""
    return [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Alertmanager:
    """The silences API of one Alertmanager (`INCIDENT_BOT_ALERTMANAGER_URL`)."""

    def __init__(self, url: str, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, verb: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self.session.request(verb, f"{self.url}/api/v2{path}", timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise AlertmanagerError(f"{verb} {path}: {type(exc).__name__}") from None
        if answer.status_code >= 300:
            raise AlertmanagerError(f"{verb} {path}: HTTP {answer.status_code} {answer.text[:200]!r}")
        return answer.json() if answer.content else None

    def silence(self, labels: Mapping[str, str], until: datetime, created_by: str, comment: str) -> str:
        """Create a silence of the group's labels from now until `until`, or reuse the same one made before
        (a retried job: same matchers, author and comment, still active); its id."""
        wanted = matchers(labels)
        for found in self.silences():
            same = found.get("createdBy") == created_by and found.get("comment") == comment
            if same and _active(found) and _matchers(found) == wanted:
                return str(found["id"])
        body = {
            "matchers": wanted,
            "startsAt": stamp(datetime.now(UTC) - timedelta(seconds=1)),
            "endsAt": stamp(until),
            "createdBy": created_by,
            "comment": comment,
        }
        made = self._call("POST", "/silences", json=body)
        if not isinstance(made, dict) or not isinstance(made.get("silenceID"), str):
            raise AlertmanagerError(f"POST /silences: no silenceID in {str(made)[:200]!r}")
        return made["silenceID"]

    def silences(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/silences")
        return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []

    def get(self, silence_id: str) -> dict[str, Any]:
        found = self._call("GET", f"/silence/{silence_id}")
        return found if isinstance(found, dict) else {}

    def expire(self, silence_id: str) -> None:
        """Expire the silence; one already expired (or gone) counts as done."""
        try:
            self._call("DELETE", f"/silence/{silence_id}")
        except AlertmanagerError:
            try:
                state = self.get(silence_id).get("status", {}).get("state")
            except AlertmanagerError as gone:
                if "HTTP 404" in str(gone):
                    return
                raise
            if state != EXPIRED:
                raise


def _active(silence: Mapping[str, Any]) -> bool:
    status = silence.get("status")
    return isinstance(status, dict) and status.get("state") in ("active", "pending")


def _matchers(silence: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = silence.get("matchers") or []
    keep = ("name", "value", "isRegex", "isEqual")
    return sorted(
        ({k: m.get(k, True if k == "isEqual" else None) for k in keep} for m in found if isinstance(m, dict)),
        key=lambda m: str(m["name"]),
    )
