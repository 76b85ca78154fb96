"""What the digest and the board say of a confirmed cause (issue 19): the change named in plain words, and the
change-failure rate as a sentence. The words are the raw text: each page neutralises them by its own means
(`service.text` in Markdown, the board's `user_text`), and decides whether a confidential incident's cause is named.
"""

from __future__ import annotations

from collections.abc import Callable

from ..store.causes import CauseKind
from ..store.recent_causes import ConfirmedCause

CONFIDENTIAL = "a confidential incident's cause (counted, not named)"


def change_words(cause: ConfirmedCause) -> str:
    """The change: `deployment 1a2b3c4d "Add checkout" to production of acme/shop`, `merge request acme/shop!12`,
    `feature flag new-checkout`."""
    where = cause.cause_path or str(cause.cause_project_id)
    if cause.kind is CauseKind.MERGE_REQUEST:
        return f"merge request {where}!{cause.merge_request_iid}"
    if cause.kind is CauseKind.FEATURE_FLAG:
        return f"feature flag {cause.flag_name or ''} of {where}"
    d = cause.deployment
    if d is None:
        return f"deployment {cause.deployment_id} of {where} (no longer in the index)"
    title = f' "{d.commit_title}"' if d.commit_title else ""
    return f"deployment {d.sha or d.deployment_id}{title} to {d.environment} of {where}"


def change_shown(cause: ConfirmedCause, text: Callable[[str], str], reference: Callable[[str], str]) -> str:
    """`change_words` as a page shows them: a merge request's reference (the bot's, from the index) by `reference`,
    any other change's words (names people and tools chose) by `text`."""
    if cause.kind is CauseKind.MERGE_REQUEST and cause.merge_request_iid is not None:
        return f"merge request {reference(f'{cause.cause_path or cause.cause_project_id}!{cause.merge_request_iid}')}"
    return text(change_words(cause))


def rate_words(deployed: int, failed: int, rate: float | None) -> str:
    """`25% (1 of 4 successful deployments caused an incident)`, or that there was no deployment."""
    if rate is None:
        return "no successful deployment in the index over this window"
    return f"{rate:.0%} ({failed} of {deployed} successful deployments caused an incident)"
