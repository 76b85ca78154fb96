"""The narrow GitLab interface the bot uses, and its python-gitlab implementation."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import gitlab
import requests
from gitlab.exceptions import GitlabError, GitlabHttpError
from redis import Redis
from redis.exceptions import RedisError

from . import metrics
from .gitlab_followups import FollowUpCalls, FollowUpGitLab
from .incident import Issue, Note, UnexpectedAnswer, issue_from_api, note_from_api
from .keys import Keys

log = logging.getLogger("incident_bot.gitlab")

NATIVE_SEVERITY_MUTATION = """
mutation($projectPath: ID!, $iid: String!, $severity: IssuableSeverity!) {
  issueSetSeverity(input: {projectPath: $projectPath, iid: $iid, severity: $severity}) { errors }
}
"""
USER_CACHE_SECONDS = 3600
NOTES_PAGE = 100
MEMORY_POINTER_SECONDS = 90 * 24 * 3600  # longer than any incident stays open; a lost pointer costs one full scan


class TransientGitLabError(Exception):
    """GitLab did not answer usefully (5xx, 429, timeout); the job is retried."""


class PermanentGitLabError(Exception):
    """GitLab refused the call for good (4xx other than 429); retrying will not help."""


@dataclass(frozen=True)
class User:
    id: int
    username: str


class GitLabClient(FollowUpGitLab, Protocol):
    """Every GitLab operation the bot performs (PythonGitLabClient; tests fake GitLab over HTTP, not here)."""

    def current_user(self) -> User: ...

    def for_delivery(self, event_uuid: str | None) -> GitLabClient:
        """A client for one delivery: its writes carry `X-Gitlab-Event-UUID` (a new object; self unchanged)."""
        ...

    def get_issue(self, project_id: int, iid: int) -> Issue: ...

    def iter_notes(self, project_id: int, iid: int) -> Iterator[Note]: ...

    def get_note(self, project_id: int, iid: int, note_id: int) -> Note | None: ...

    def memory_note(self, project_id: int, iid: int) -> int | None: ...

    def remember_memory_note(self, project_id: int, iid: int, note_id: int | None) -> None: ...

    def update_issue(
        self,
        project_id: int,
        iid: int,
        *,
        add_labels: Iterable[str] = (),
        remove_labels: Iterable[str] = (),
        assignee_ids: Iterable[int] | None = None,
        state_event: str | None = None,
        confidential: bool | None = None,
    ) -> None: ...

    def create_note(self, project_id: int, iid: int, body: str) -> int: ...

    def edit_note(self, project_id: int, iid: int, note_id: int, body: str) -> None: ...

    def user_id(self, username: str) -> int | None: ...

    def set_native_severity(self, project_path: str, iid: int, severity: str) -> None: ...

    def create_issue(
        self, project_id: int, title: str, description: str, labels: Iterable[str], *, confidential: bool = False
    ) -> tuple[int, str]:
        """Open an issue (confidential when it comes from a confidential incident): (iid, web URL)."""
        ...

    def link_issues(self, project_id: int, iid: int, target_project_id: int, target_iid: int) -> None: ...

    def linked_issues(self, project_id: int, iid: int) -> list[tuple[int, str, str]]: ...

    def access_level(self, project_id: int, user_id: int) -> int: ...


def _wrap(exc: Exception) -> Exception:
    if isinstance(exc, GitlabHttpError | GitlabError):
        code = getattr(exc, "response_code", None)
        if code is None or code >= 500 or code == 429:
            return TransientGitLabError(f"GitLab answered {code}: {exc}")
        return PermanentGitLabError(f"GitLab answered {code}: {exc}")
    return TransientGitLabError(f"GitLab unreachable: {exc}")




class PythonGitLabClient(FollowUpCalls):
    """GitLabClient over python-gitlab: timeouts, transient retries, the delivery's event UUID on writes."""

    def __init__(
        self, url: str, token: str, *, timeout: float = 10.0, cache: Redis | None = None, keys: Keys | None = None
    ):
        self.gl = gitlab.Gitlab(url, private_token=token, timeout=timeout, retry_transient_errors=True)
        self.gl.session.hooks["response"].append(metrics.gitlab_response)  # every attempt, retries included
        self.event_uuid: str | None = None
        # In Redis rather than in memory: every worker process shares it, and it survives restarts.
        self.cache = cache
        self.keys = keys or Keys()

    def for_delivery(self, event_uuid: str | None) -> PythonGitLabClient:
        """A new client for one delivery, forwarding its `X-Gitlab-Event-UUID` on writes.

        It shares this one's HTTP session and Redis cache; this one is left unchanged,
        so nothing of one delivery can leak into another's writes (nor into a reminder's).
        """
        bound = copy.copy(self)
        bound.event_uuid = event_uuid
        return bound

    def _headers(self) -> dict[str, str] | None:
        # GitLab does not fire the same hook again for a change that carries the
        # triggering event's UUID, which stops hook ping-pong with other bots.
        return {"X-Gitlab-Event-UUID": self.event_uuid} if self.event_uuid else None

    def _call(self, verb: str, path: str, **kwargs: Any) -> Any:
        method = getattr(self.gl, f"http_{verb}")
        if verb != "get":
            kwargs["extra_headers"] = self._headers()
        try:
            return method(path, max_retries=3, **kwargs)
        except (GitlabError, requests.RequestException) as exc:
            metrics.gitlab_unanswered(verb, exc)
            raise _wrap(exc) from exc

    def current_user(self) -> User:
        data = self._call("get", "/user")
        try:
            return User(id=int(data["id"]), username=str(data["username"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedAnswer("the bot's user (GET /user)", type(exc).__name__, data) from None

    def get_issue(self, project_id: int, iid: int) -> Issue:
        return issue_from_api(project_id, self._call("get", f"/projects/{project_id}/issues/{iid}"))

    def iter_notes(self, project_id: int, iid: int) -> Iterator[Note]:
        """Every note of the issue, newest first, one page at a time (stop iterating to stop reading)."""
        page = 1
        while True:
            batch = self._call(
                "get",
                f"/projects/{project_id}/issues/{iid}/notes",
                query_data={"sort": "desc", "order_by": "created_at", "per_page": NOTES_PAGE, "page": page},
            )
            yield from (note_from_api(item) for item in batch)
            if len(batch) < NOTES_PAGE:
                return
            page += 1

    def get_note(self, project_id: int, iid: int, note_id: int) -> Note | None:
        """One note by id; None when it is gone (deleted) or not on this issue."""
        try:
            return note_from_api(self._call("get", f"/projects/{project_id}/issues/{iid}/notes/{note_id}"))
        except PermanentGitLabError:
            return None

    def memory_note(self, project_id: int, iid: int) -> int | None:
        """Where the bot's memory of this issue was last written, if Redis remembers it."""
        try:
            raw = self.cache.get(self.keys.memory_note(project_id, iid)) if self.cache is not None else None
            return int(raw) if raw is not None else None
        except (RedisError, ValueError) as exc:
            # No pointer is always safe: the memory is then found by reading every note.
            log.warning("memory pointer of %s#%s unreadable, reading all notes: %s", project_id, iid, exc)
            return None

    def remember_memory_note(self, project_id: int, iid: int, note_id: int | None) -> None:
        """Point at the note holding the memory; None forgets the pointer (a note is about to supersede it)."""
        if self.cache is None:
            return
        if note_id is None:
            # Must succeed (it raises): a pointer left on an older memory note would make that memory current.
            self.cache.delete(self.keys.memory_note(project_id, iid))
            return
        try:
            self.cache.set(self.keys.memory_note(project_id, iid), note_id, ex=MEMORY_POINTER_SECONDS)
        except RedisError as exc:
            log.warning("memory pointer of %s#%s not saved (next delivery reads all notes): %s", project_id, iid, exc)

    def update_issue(
        self,
        project_id: int,
        iid: int,
        *,
        add_labels: Iterable[str] = (),
        remove_labels: Iterable[str] = (),
        assignee_ids: Iterable[int] | None = None,
        state_event: str | None = None,
        confidential: bool | None = None,
    ) -> None:
        data: dict[str, Any] = {}
        if add := sorted(add_labels):
            data["add_labels"] = ",".join(add)
        if remove := sorted(remove_labels):
            data["remove_labels"] = ",".join(remove)
        if assignee_ids is not None:
            data["assignee_ids"] = list(assignee_ids)
        if state_event:
            data["state_event"] = state_event
        if confidential is not None:
            data["confidential"] = confidential
        if data:
            self._call("put", f"/projects/{project_id}/issues/{iid}", post_data=data)

    def create_note(self, project_id: int, iid: int, body: str) -> int:
        data = self._call("post", f"/projects/{project_id}/issues/{iid}/notes", post_data={"body": body})
        return int(data["id"])

    def edit_note(self, project_id: int, iid: int, note_id: int, body: str) -> None:
        self._call("put", f"/projects/{project_id}/issues/{iid}/notes/{note_id}", post_data={"body": body})

    def user_id(self, username: str) -> int | None:
        key = self.keys.user_id(username)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return int(cached) or None
        found = self._call("get", "/users", query_data={"username": username})
        uid = int(found[0]["id"]) if found else None
        if self.cache is not None:
            self.cache.set(key, uid or 0, ex=USER_CACHE_SECONDS)
        return uid

    def set_native_severity(self, project_path: str, iid: int, severity: str) -> None:
        variables = {"projectPath": project_path, "iid": str(iid), "severity": severity}
        try:
            result = self.gl.http_post(
                self.gl.url + "/api/graphql",
                post_data={"query": NATIVE_SEVERITY_MUTATION, "variables": variables},
                extra_headers=self._headers(),
                max_retries=3,
            )
        except (GitlabError, requests.RequestException) as exc:
            raise _wrap(exc) from exc
        errors = (result or {}).get("errors") if isinstance(result, dict) else None
        if errors:
            # Severity sync is a courtesy: GitLab Free has no native severity on plain issues.
            log.warning("native severity not set for %s#%s: %s", project_path, iid, errors)

    def create_issue(
        self, project_id: int, title: str, description: str, labels: Iterable[str], *, confidential: bool = False
    ) -> tuple[int, str]:
        fields: dict[str, Any] = {"title": title, "description": description, "labels": ",".join(labels)}
        if confidential:
            # GitLab's default is a public issue: what comes from a confidential incident must say otherwise.
            fields["confidential"] = True
        data = self._call("post", f"/projects/{project_id}/issues", post_data=fields)
        return int(data["iid"]), str(data.get("web_url") or "")

    def link_issues(self, project_id: int, iid: int, target_project_id: int, target_iid: int) -> None:
        self._call(
            "post",
            f"/projects/{project_id}/issues/{iid}/links",
            post_data={"target_project_id": target_project_id, "target_issue_iid": target_iid},
        )

    def linked_issues(self, project_id: int, iid: int) -> list[tuple[int, str, str]]:
        links = self._call("get", f"/projects/{project_id}/issues/{iid}/links")
        try:
            return [(int(i["iid"]), str(i.get("title") or ""), str(i.get("web_url") or "")) for i in links]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UnexpectedAnswer(f"the links of issue {project_id}", type(exc).__name__, links) from None

    def access_level(self, project_id: int, user_id: int) -> int:
        try:
            data = self._call("get", f"/projects/{project_id}/members/all/{user_id}")
        except PermanentGitLabError:
            return 0
        return int(data.get("access_level") or 0)
