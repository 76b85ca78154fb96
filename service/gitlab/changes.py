"""The GitLab calls of suspects and causes (issue 19): a deployment's merge requests, a merge request's changed
files, and the one comment on a merge request named as an incident's cause.

A mixin of `BotClient` (its Session does the HTTP, errors, retries and metrics); `ChangeGitLab` is the Protocol part
`GitLabClient` takes from it. GitLab's JSON is read into `MergeRequest` here, once: a merge request without a
readable `iid` is skipped (one odd row must not hide the others), any other field missing is left empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..bounds import parse_time
from ..incident import Note
from .errors import UnexpectedAnswer
from .followups import project_ref
from .parse import note_from_api
from .session import Session

MAX_MERGE_REQUESTS = 200  # a deployment's merge requests kept at most (a first deployment can carry thousands)
MAX_DIFF_PAGES = 3  # 300 changed files: enough to see which areas a merge request touches
MAX_NOTE_PAGES = 20  # 2,000 comments of a merge request read at most, looking for the bot's own (newest first)
MAX_TEXT = 255
MAX_IID = 2**31 - 1


@dataclass(frozen=True)
class MergeRequest:
    """A merge request as the suspects show it: `reference` is GitLab's full one (`group/project!12`)."""

    project_id: int
    iid: int
    title: str = ""
    author: str = ""  # the username: shown, never mentioned
    merged_at: datetime | None = None
    web_url: str = ""
    reference: str = ""


class ChangeGitLab(Protocol):
    """The suspects' and causes' calls every GitLab client offers."""

    def deployment_merge_requests(self, project_id: int, deployment_id: int) -> list[MergeRequest]:
        """The merge requests a deployment shipped (GET /projects/:id/deployments/:deployment_id/merge_requests)."""
        ...

    def merge_request_paths(self, project_id: int, iid: int) -> list[str]:
        """The paths a merge request changes, old and new (GET /projects/:id/merge_requests/:iid/diffs)."""
        ...

    def merge_request_notes(self, project: int | str, iid: int) -> Iterator[Note]:
        """A merge request's comments with their authors, newest first, a page (one call) at a time as they are
        read; at most `MAX_NOTE_PAGES` pages (GET /projects/:id/merge_requests/:iid/notes)."""
        ...

    def comment_on_merge_request(self, project: int | str, iid: int, body: str) -> int: ...


class ChangeCalls:
    """ChangeGitLab over the client's Session."""

    session: Session

    def deployment_merge_requests(self, project_id: int, deployment_id: int) -> list[MergeRequest]:
        what = f"the merge requests of deployment {deployment_id} of project {project_id}"
        path = f"/projects/{project_id}/deployments/{deployment_id}/merge_requests"
        found = []
        for item in self.session.pages(path, what, max_pages=MAX_MERGE_REQUESTS // 100):
            mr = merge_request_from_api(project_id, item)
            if mr is not None:
                found.append(mr)
        return found

    def merge_request_paths(self, project_id: int, iid: int) -> list[str]:
        what = f"the changed files of {project_id}!{iid}"
        paths: dict[str, None] = {}
        path = f"/projects/{project_id}/merge_requests/{iid}/diffs"
        for item in self.session.pages(path, what, max_pages=MAX_DIFF_PAGES):
            if isinstance(item, dict):
                for key in ("old_path", "new_path"):
                    if isinstance(item.get(key), str) and item[key]:
                        paths[item[key]] = None
        return list(paths)

    def merge_request_notes(self, project: int | str, iid: int) -> Iterator[Note]:
        what = f"the comments of {project}!{iid}"
        path = f"/projects/{project_ref(project)}/merge_requests/{iid}/notes"
        query = {"sort": "desc", "order_by": "created_at"}
        for item in self.session.pages(path, what, query, max_pages=MAX_NOTE_PAGES):
            if not isinstance(item, dict):
                raise UnexpectedAnswer(what, "a note expected", item)
            yield note_from_api(item)

    def comment_on_merge_request(self, project: int | str, iid: int, body: str) -> int:
        path = f"/projects/{project_ref(project)}/merge_requests/{iid}/notes"
        data = self.session.call("post", path, f"comment on {project}!{iid}", json={"body": body})
        return int(data["id"]) if isinstance(data, dict) and isinstance(data.get("id"), int) else 0


def merge_request_from_api(project_id: int, data: Any) -> MergeRequest | None:
    """A merge request from GitLab's JSON (the merge requests API's shape); None without a readable `iid`."""
    iid = data.get("iid") if isinstance(data, dict) else None
    if not isinstance(iid, int) or isinstance(iid, bool) or not 1 <= iid <= MAX_IID:
        return None
    author = data.get("author") if isinstance(data.get("author"), dict) else {}
    refs = data.get("references") if isinstance(data.get("references"), dict) else {}
    pid = data.get("project_id")
    return MergeRequest(
        project_id=pid if isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**63 else project_id,
        iid=iid,
        title=_text(data.get("title")),
        author=_text(author.get("username")),
        merged_at=parse_time(data.get("merged_at")),
        web_url=_text(data.get("web_url"), 2048),
        reference=_text(refs.get("full")) or f"!{iid}",
    )


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""
