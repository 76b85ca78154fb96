"""People acting on the fake GitLab at given times: each action changes the model and returns the webhook body
GitLab would deliver for it (tests deliver it to the real worker, which writes back into the same model)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .core import BOT, iso


class People:
    """open, label, assign, link, close, reopen, comment (and GitLab's own system notes), at a given time."""

    def open(
        self,
        key: tuple[int, int],
        at: datetime,
        author: str,
        labels: list[str],
        *,
        title: str = "Checkout returns 500 errors",
        description: str = "",
        confidential: bool = False,
        issue_type: str = "issue",
        path: str = "shop/checkout",
    ) -> dict[str, Any]:
        """A person opens an issue with these labels."""
        self.clock = at
        issue = self.add_issue(  # type: ignore[attr-defined]  # a FakeGitLab mixin
            *key, title=title, description=description, confidential=confidential, issue_type=issue_type,
            author=author, path=path,
        )  # fmt: skip
        issue["created_at"] = issue["updated_at"] = iso(at)
        self.relabel(key, iso(at), author, list(labels), [])  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return self.issue_hook(key, author, "open")

    def label(
        self, key: tuple[int, int], at: datetime, user: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> dict[str, Any]:
        """A person edits the labels (one edit: GitLab records each label as its own event, same time)."""
        self.clock = at
        previous = list(self.issues[key]["labels"])  # type: ignore[attr-defined]  # a FakeGitLab mixin
        self.relabel(key, iso(at), user, list(add), list(remove))  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return self.issue_hook(key, user, "update", previous=previous)

    def close(self, key: tuple[int, int], at: datetime, user: str) -> dict[str, Any]:
        """A person closes the issue."""
        self.clock = at
        self.set_state(key, iso(at), user, "closed")  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return self.issue_hook(key, user, "close")

    def reopen(self, key: tuple[int, int], at: datetime, user: str) -> dict[str, Any]:
        """A person reopens the issue."""
        self.clock = at
        self.set_state(key, iso(at), user, "reopened")  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return self.issue_hook(key, user, "reopen")

    def assign(self, key: tuple[int, int], at: datetime, user: str, *names: str) -> dict[str, Any]:
        """A person sets the assignees."""
        self.clock = at
        ids = [self.users[name] for name in names]  # type: ignore[attr-defined]  # a FakeGitLab mixin
        self.update(key, {"assignee_ids": ids}, user)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return self.issue_hook(key, user, "update")

    def link(self, key: tuple[int, int], other: tuple[int, int]) -> None:
        """A person links two issues (both ways, as GitLab shows them; GitLab sends no hook for it)."""
        self.links.setdefault(key, []).append(other)  # type: ignore[attr-defined]  # a FakeGitLab mixin
        self.links.setdefault(other, []).append(key)  # type: ignore[attr-defined]  # a FakeGitLab mixin

    def comment(self, key: tuple[int, int], at: datetime, user: str, body: str) -> dict[str, Any]:
        """A person comments."""
        self.clock = at
        note = self.add_note(key, body, user, at=iso(at))  # type: ignore[attr-defined]  # a FakeGitLab mixin
        issue = self.issues[key]  # type: ignore[attr-defined]  # a FakeGitLab mixin
        return {
            "object_kind": "note",
            "event_type": "note",
            "user": self.user(user),  # type: ignore[attr-defined]  # a FakeGitLab mixin
            "project": {"id": key[0], "path_with_namespace": issue["references"]["full"].split("#")[0]},
            "object_attributes": {
                "id": note["id"],
                "note": body,
                "noteable_type": "Issue",
                "action": "create",
                "author_id": self.users[user],  # type: ignore[attr-defined]  # a FakeGitLab mixin
                "created_at": iso(at).replace("T", " ").split(".")[0] + " UTC",
                "url": issue["web_url"] + f"#note_{note['id']}",
            },
            "issue": {
                "iid": key[1],
                "title": issue["title"],
                "description": issue["description"],
                "labels": [{"title": label} for label in issue["labels"]],
                "state": issue["state"],
                "author_id": (issue.get("author") or BOT)["id"],
                "created_at": issue["created_at"],
                "url": issue["web_url"],
                "confidential": issue["confidential"],
                "type": "Incident" if issue["issue_type"] == "incident" else "Issue",
            },
        }

    def system_note(self, key: tuple[int, int], at: datetime, user: str, body: str) -> None:
        """GitLab's own note (no hook is delivered for it)."""
        self.add_note(key, body, user, system=True, at=iso(at))  # type: ignore[attr-defined]  # a FakeGitLab mixin

    def issue_hook(
        self, key: tuple[int, int], user: str, action: str, previous: list[str] | None = None
    ) -> dict[str, Any]:
        """The `Issue Hook` body of the issue as it is now."""
        issue = self.issues[key]  # type: ignore[attr-defined]  # a FakeGitLab mixin
        attrs = {
            "iid": key[1],
            "title": issue["title"],
            "description": issue["description"],
            "url": issue["web_url"],
            "state": issue["state"],
            "action": action,
            "confidential": issue["confidential"],
            "author_id": (issue.get("author") or BOT)["id"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "type": "Incident" if issue["issue_type"] == "incident" else "Issue",
        }
        payload: dict[str, Any] = {
            "object_kind": "issue",
            "event_type": "issue",
            "user": self.user(user),  # type: ignore[attr-defined]  # a FakeGitLab mixin
            "project": {"id": key[0], "path_with_namespace": issue["references"]["full"].split("#")[0]},
            "object_attributes": attrs,
            "labels": [{"title": label} for label in issue["labels"]],
            "assignees": [],
        }
        if previous is not None and action != "open":
            payload["changes"] = {
                "labels": {
                    "previous": [{"title": label} for label in previous],
                    "current": [{"title": label} for label in issue["labels"]],
                }
            }
        return payload
