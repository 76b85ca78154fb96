"""People acting on a drill issue of the fake GitLab, and the webhook bodies GitLab would send for each act.

Shared by the in-process tests (the real delivery job behind `responses`) and the end-to-end
drill test (the real web and worker processes): `send(body, event, key)` delivers a body.
Each act is dated (the hook's own timestamps), so the scorecard's times are known by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import payload
from tests.fakegitlab import FakeGitLab

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
USERS = {"alice": 7, "bob": 8, "im-alice": 21, "im-bob": 22, "eoc-carol": 23}
Send = Callable[[bytes, str, str], object]


def at(minutes: float, t0: datetime = T0) -> str:
    """GitLab's hook timestamp `minutes` after the drill's start (09:00 on the drill's day unless told)."""
    return (t0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(names: list[str]) -> list[dict[str, Any]]:
    return [{"id": 300 + i, "title": name} for i, name in enumerate(names)]


class DrillScript:
    """One drill issue (project 1, iid 23 unless told) and the people acting on it, `minutes` after `t0`."""

    def __init__(self, fake: FakeGitLab, send: Send, *, project_id: int = 1, iid: int = 23, t0: datetime = T0):
        self.fake, self.send, self.key, self.t0 = fake, send, (project_id, iid), t0
        self.count = 0

    def at(self, minutes: float) -> str:
        return at(minutes, self.t0)

    @property
    def issue(self) -> dict[str, Any]:
        return self.fake.issues[self.key]

    def _issue_hook(self, action: str, before: list[str], minutes: float, user: str) -> bytes:
        data = payload("issue.update.severity")
        issue = self.issue
        attrs = data["object_attributes"]
        attrs.update(
            action=action,
            iid=self.key[1],
            state=issue["state"],
            title=issue["title"],
            description=issue["description"],
            created_at=self.at(0),
            updated_at=self.at(minutes),
            labels=_labels(issue["labels"]),
        )
        data["project"]["id"] = self.key[0]
        data["labels"] = _labels(issue["labels"])
        data["user"].update(username=user, id=USERS.get(user, 90))
        if before != issue["labels"] and action != "open":
            data["changes"] = {"labels": {"previous": _labels(before), "current": _labels(issue["labels"])}}
        else:
            data.pop("changes", None)
        return json.dumps(data).encode()

    def _deliver(self, data: bytes, event: str) -> object:
        self.count += 1
        return self.send(data, event, f"drill-{self.key[1]}-{self.count}")

    def open(self, minutes: float = 0, user: str = "alice") -> object:
        """The drill issue, as it was created, delivered as opened."""
        with self.fake.lock:
            data = self._issue_hook("open", [], minutes, user)
        return self._deliver(data, "Issue Hook")

    def label(self, minutes: float, user: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> object:
        """`user` edits the labels in GitLab."""
        with self.fake.lock:
            before = list(self.issue["labels"])
            self.issue["labels"] = [x for x in before if x not in remove] + [x for x in add if x not in before]
            data = self._issue_hook("update", before, minutes, user)
        return self._deliver(data, "Issue Hook")

    def close(self, minutes: float, user: str) -> object:
        """`user` closes the issue."""
        with self.fake.lock:
            self.issue["state"] = "closed"
            data = self._issue_hook("close", list(self.issue["labels"]), minutes, user)
        return self._deliver(data, "Issue Hook")

    def comment(self, minutes: float, user: str, text: str) -> object:
        """`user` comments on the issue."""
        with self.fake.lock:
            note = self.fake.add_note(self.key, text, user)
            data = payload("note.create.incident")
            when = self.at(minutes)
            data["object_attributes"].update(note=text, id=note["id"], created_at=when, updated_at=when)
            data["project"]["id"] = self.key[0]
            data["project_id"] = self.key[0]
            issue = self.issue
            data["issue"].update(
                iid=self.key[1],
                author_id=51,
                created_at=self.at(0),
                state=issue["state"],
                title=issue["title"],
                description=issue["description"],
                labels=_labels(issue["labels"]),
            )
            data["user"].update(username=user, id=USERS.get(user, 90))
        return self._deliver(json.dumps(data).encode(), "Note Hook")

    def checklist(self, phase: str) -> tuple[int, int]:
        """(ticked, total) of the bot's checklist of `phase`, counted here from its note."""
        body = self._checklist_note(phase)["body"]
        rest = body.split(f"<!-- incident-bot:checklist {phase} -->", 1)[1].lstrip("\n")
        items = []
        for line in rest.splitlines():
            if not re.match(r"- \[[ x]\] ", line):
                break
            items.append(line)
        return sum(1 for i in items if i.startswith("- [x]")), len(items)

    def tick(self, phase: str, n: int) -> None:
        """A person ticks the first `n` unticked items of the bot's checklist of `phase` (edits the note)."""
        with self.fake.lock:
            note = self._checklist_note(phase)
            head, marker, rest = note["body"].partition(f"<!-- incident-bot:checklist {phase} -->")
            for _ in range(n):
                rest = rest.replace("- [ ] ", "- [x] ", 1)
            note["body"] = head + marker + rest

    def _checklist_note(self, phase: str) -> dict[str, Any]:
        marker = f"<!-- incident-bot:checklist {phase} -->"
        return next(n for n in self.fake.bot_notes(*self.key) if marker in n["body"])
