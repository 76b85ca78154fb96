"""The delivery job's GitLab client: the narrow interface the worker uses, over the one Session.

A `BotClient` is shared by a worker process; each job takes `for_delivery(uuid)`, a new object whose
writes carry the delivery's `X-Gitlab-Event-UUID` (so GitLab does not fire the same hook again for the
bot's own change), while the process's client is left unchanged.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from redis import Redis

from ..config import Settings
from ..incident import Issue, Note
from ..keys import Keys
from .changes import ChangeCalls, ChangeGitLab
from .errors import PermanentGitLabError
from .followups import FollowUpCalls, FollowUpGitLab
from .issues import issue_fields
from .parse import User, issue_from_api, links_from_api, note_from_api, user_from_api
from .pointer import MemoryPointer
from .session import PAGE, Session

log = logging.getLogger("incident_bot.gitlab")

NATIVE_SEVERITY_MUTATION = """
mutation($projectPath: ID!, $iid: String!, $severity: IssuableSeverity!) {
  issueSetSeverity(input: {projectPath: $projectPath, iid: $iid, severity: $severity}) { errors }
}
"""
# Staffing by username (REPLACE: the list given becomes the assignees): no user lookup before the write. GitLab
# drops the usernames it does not know, and GitLab Free keeps only the first assignee; the answer says who stayed.
SET_ASSIGNEES_MUTATION = """
mutation($projectPath: ID!, $iid: String!, $assigneeUsernames: [String!]!) {
  issueSetAssignees(input: {projectPath: $projectPath, iid: $iid, assigneeUsernames: $assigneeUsernames,
                            operationMode: REPLACE}) {
    issue { assignees { nodes { username } } }
    errors
  }
}
"""
USER_CACHE_SECONDS = 3600
DELIVERY_RETRIES = 3


class GitLabClient(FollowUpGitLab, ChangeGitLab, Protocol):
    """Every GitLab operation the delivery job performs (BotClient; tests fake GitLab over HTTP, not here)."""

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

    def set_assignees(self, project_path: str, iid: int, usernames: Iterable[str]) -> list[str]:
        """Make `usernames` the issue's assignees (GraphQL, by username): the usernames assigned after it."""
        ...

    def create_issue(
        self, project_id: int, title: str, description: str, labels: Iterable[str], *, confidential: bool = False
    ) -> tuple[int, str]:
        """Open an issue (confidential when it comes from a confidential incident): (iid, web URL)."""
        ...

    def link_issues(self, project_id: int, iid: int, target_project_id: int, target_iid: int) -> None: ...

    def linked_issues(self, project_id: int, iid: int) -> list[tuple[int, str, str]]: ...

    def access_level(self, project_id: int, user_id: int) -> int: ...


class BotClient(MemoryPointer, FollowUpCalls, ChangeCalls):
    """GitLabClient over the Session: timeouts, bounded retries, the delivery's event UUID on writes."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        cache: Redis | None = None,
        keys: Keys | None = None,
        session: Session | None = None,
    ):
        self.session = session or Session(url, token=token, timeout=timeout, retries=DELIVERY_RETRIES)
        # In Redis rather than in memory: every worker process shares it, and it survives restarts.
        self.cache = cache
        self.keys = keys or Keys()

    @classmethod
    def for_settings(cls, settings: Settings, cache: Redis | None) -> BotClient:
        """The bot's client as every process builds it: GitLab and its timeout from `settings`, Redis as the cache."""
        return cls(
            settings.gitlab_url, settings.gitlab_token, timeout=settings.gitlab_timeout, cache=cache, keys=settings.keys
        )

    def for_delivery(self, event_uuid: str | None) -> BotClient:
        """A new client for one delivery, forwarding its `X-Gitlab-Event-UUID` on writes.

        It shares this one's HTTP session and Redis cache; this one is left unchanged,
        so nothing of one delivery can leak into another's writes (nor into a reminder's).
        """
        bound = copy.copy(self)
        bound.session = self.session.with_headers({"X-Gitlab-Event-UUID": event_uuid} if event_uuid else {})
        return bound

    def _get(self, path: str, what: str, **query: Any) -> Any:
        return self.session.call("get", path, what, query=query or None)

    def current_user(self) -> User:
        return user_from_api(self._get("/user", "the bot's user (GET /user)"), "the bot's user (GET /user)")

    def get_issue(self, project_id: int, iid: int) -> Issue:
        return issue_from_api(project_id, self._get(f"/projects/{project_id}/issues/{iid}", f"issue {project_id}"))

    def iter_notes(self, project_id: int, iid: int) -> Iterator[Note]:
        """Every note of the issue, newest first, one page at a time (stop iterating to stop reading)."""
        path, query = f"/projects/{project_id}/issues/{iid}/notes", {"sort": "desc", "order_by": "created_at"}
        for item in self.session.pages(path, f"the notes of {project_id}#{iid}", query, max_pages=10_000 // PAGE):
            yield note_from_api(item)

    def get_note(self, project_id: int, iid: int, note_id: int) -> Note | None:
        """One note by id; None when it is gone (deleted) or not on this issue."""
        try:
            return note_from_api(self._get(f"/projects/{project_id}/issues/{iid}/notes/{note_id}", "a note"))
        except PermanentGitLabError:
            return None

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
        data = issue_fields(add_labels, remove_labels, assignee_ids, state_event, confidential)
        if data:
            path = f"/projects/{project_id}/issues/{iid}"
            self.session.call("put", path, f"update issue {project_id}#{iid}", json=data)

    def create_note(self, project_id: int, iid: int, body: str) -> int:
        path = f"/projects/{project_id}/issues/{iid}/notes"
        data = self.session.call("post", path, f"comment on {project_id}#{iid}", json={"body": body})
        return note_from_api(data).id

    def edit_note(self, project_id: int, iid: int, note_id: int, body: str) -> None:
        path = f"/projects/{project_id}/issues/{iid}/notes/{note_id}"
        self.session.call("put", path, f"edit comment {note_id} of {project_id}#{iid}", json={"body": body})

    def user_id(self, username: str) -> int | None:
        key = self.keys.user_id(username)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return int(cached) or None
        found = self._get("/users", f"the user {username}", username=username)
        uid = user_from_api(found[0], f"the user {username}").id if isinstance(found, list) and found else None
        if self.cache is not None:
            self.cache.set(key, uid or 0, ex=USER_CACHE_SECONDS)
        return uid

    def set_native_severity(self, project_path: str, iid: int, severity: str) -> None:
        variables = {"projectPath": project_path, "iid": str(iid), "severity": severity}
        result = self.session.graphql(NATIVE_SEVERITY_MUTATION, variables, f"the severity of {project_path}#{iid}")
        errors = result.get("errors") or ((result.get("data") or {}).get("issueSetSeverity") or {}).get("errors")
        if errors:
            # Severity sync is a courtesy: GitLab Free has no native severity on plain issues.
            log.warning("native severity not set for %s#%s: %s", project_path, iid, errors)

    def set_assignees(self, project_path: str, iid: int, usernames: Iterable[str]) -> list[str]:
        what = f"the assignees of {project_path}#{iid}"
        variables = {"projectPath": project_path, "iid": str(iid), "assigneeUsernames": list(usernames)}
        result = self.session.graphql(SET_ASSIGNEES_MUTATION, variables, what)
        answer = (result.get("data") or {}).get("issueSetAssignees") or {}
        issue = answer.get("issue") if isinstance(answer, dict) else None
        if not isinstance(issue, dict):  # nothing was assigned: the issue not found, or not the bot's to edit
            raise PermanentGitLabError(what, 200, str(result.get("errors") or answer.get("errors") or "no issue"))
        if answer.get("errors"):  # some were assigned; those refused are missing from the answer
            log.warning("not every assignee set for %s#%s: %s", project_path, iid, answer["errors"])
        nodes = ((issue.get("assignees") or {}).get("nodes")) or []
        return [str(n["username"]) for n in nodes if isinstance(n, dict) and n.get("username")]

    def create_issue(
        self, project_id: int, title: str, description: str, labels: Iterable[str], *, confidential: bool = False
    ) -> tuple[int, str]:
        fields: dict[str, Any] = {"title": title, "description": description, "labels": ",".join(labels)}
        if confidential:
            # GitLab's default is a public issue: what comes from a confidential incident must say otherwise.
            fields["confidential"] = True
        path = f"/projects/{project_id}/issues"
        data = self.session.call("post", path, f"open an issue in {project_id}", json=fields)
        return int(data["iid"]), str(data.get("web_url") or "")

    def link_issues(self, project_id: int, iid: int, target_project_id: int, target_iid: int) -> None:
        self.session.call(
            "post",
            f"/projects/{project_id}/issues/{iid}/links",
            f"link {project_id}#{iid} to {target_project_id}#{target_iid}",
            json={"target_project_id": target_project_id, "target_issue_iid": target_iid},
        )

    def linked_issues(self, project_id: int, iid: int) -> list[tuple[int, str, str]]:
        what = f"the links of issue {project_id}"
        return links_from_api(self._get(f"/projects/{project_id}/issues/{iid}/links", what), what)

    def access_level(self, project_id: int, user_id: int) -> int:
        try:
            data = self._get(f"/projects/{project_id}/members/all/{user_id}", "a member's access level")
        except PermanentGitLabError:
            return 0
        return int(data.get("access_level") or 0)
