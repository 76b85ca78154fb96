"""`@bot cause <ref>`: what a person names as an incident's cause, read from the comment, and its planned action. Pure.

A merge request (`!123` or `group/project!123`), a deployment (its id, or its job's URL as the hook gave it), a
feature flag (its name, as GitLab allows one), or `none` to clear the cause. Anything else is no reference:
the planner answers with the usage, the text shown inert. The worker carries out `RecordCause` after the
issue write (`worker/causes.py`): it resolves the reference in the index, records it (`store.causes`), and
the confirmation is the `CauseNote` its enricher fills.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ..plan import Action

MAX_ID = 2**63 - 1  # the index's BigInteger
MAX_IID = 2**31 - 1
_PATH = r"[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}"
_MERGE_REQUEST = re.compile(rf"(?P<path>{_PATH})?!(?P<iid>[0-9]{{1,10}})")
_DEPLOYMENT_ID = re.compile(r"[0-9]{1,19}")
# A deployment's URL: its job's (`.../-/jobs/901`, the hook's `deployable_url`), http(s) only.
_URL = re.compile(r"https?://[^\s<>\"'`\[\]()]{1,2040}")
# GitLab's rule for a flag's name: lower case letters, digits, `_` and `-`, a letter first, not ending in `_`/`-`.
_FLAG = re.compile(r"[a-z](?:[a-z0-9_-]{0,253}[a-z0-9])?")
NONE = "none"


class RefKind(StrEnum):
    """What a cause reference names."""

    MERGE_REQUEST = "merge_request"
    DEPLOYMENT = "deployment"
    DEPLOYMENT_URL = "deployment_url"  # a job's URL: the deployment whose job it is, looked up in the index
    FEATURE_FLAG = "feature_flag"


@dataclass(frozen=True)
class CauseRef:
    """A parsed reference: `path` for another project's merge request, `number` an MR iid or a deployment id."""

    kind: RefKind
    number: int | None = None
    path: str | None = None
    text: str = ""  # a flag's name, or a deployment's URL

    def __str__(self) -> str:
        if self.kind is RefKind.MERGE_REQUEST:
            return f"{self.path or ''}!{self.number}"
        if self.kind is RefKind.DEPLOYMENT:
            return f"deployment {self.number}"
        return self.text


@dataclass(frozen=True)
class RecordCause(Action):
    """Record (`ref`), or with None clear, the incident's confirmed cause in the index; `by` named the cause."""

    ref: CauseRef | None
    by: str


@dataclass(frozen=True)
class CommentOnCause(Action):
    """Leave one comment on the merge request `ref` names (or on each a named deployment carried) linking the
    incident (`incident`: its reference, `url`); never planned for a confidential incident."""

    ref: CauseRef
    incident: str
    url: str


def parse_cause(text: str) -> CauseRef | str | None:
    """The reference in `cause <text>`: a CauseRef, `NONE` to clear, or None when it is no reference."""
    words = text.split()
    if len(words) != 1:
        return None
    word = words[0]
    if word.lower() == NONE:
        return NONE
    if (mr := _MERGE_REQUEST.fullmatch(word)) is not None:
        path, iid = mr.group("path"), int(mr.group("iid"))
        if not 1 <= iid <= MAX_IID or (path and (path.endswith(("/", ".")) or "//" in path or ".." in path)):
            return None
        return CauseRef(RefKind.MERGE_REQUEST, iid, path.strip("/") if path else None)
    if _DEPLOYMENT_ID.fullmatch(word):
        number = int(word)
        return CauseRef(RefKind.DEPLOYMENT, number) if 1 <= number <= MAX_ID else None
    if _URL.fullmatch(word):
        return CauseRef(RefKind.DEPLOYMENT_URL, text=word)
    if _FLAG.fullmatch(word):
        return CauseRef(RefKind.FEATURE_FLAG, text=word)
    return None
