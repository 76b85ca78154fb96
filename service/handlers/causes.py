"""Suspects and causes in planning: the `suspects` and `cause <ref>` commands (issue 19). Pure.

`suspects` replies with a `SuspectsPart` (the worker's enricher lists the changes from the index).
`cause <ref>` plans a `RecordCause` (`changes.cause`: a merge request, a deployment, a feature flag, or `none`)
and a timeline entry; the reply is the `CauseNote` the worker fills once it recorded the cause. A text that
is no reference gets the usage, shown inert.
"""

from __future__ import annotations

from ..changes.cause import CauseRef, CommentOnCause, RecordCause, RefKind, parse_cause
from ..parts import CauseNote, Piece, SuspectsPart
from ..text import mention, neutralise_line, ref
from .draft import Draft

RULE = "command:cause"
MAX_SHOWN = 80  # characters of a refused reference echoed back


def usage(bot: str) -> str:
    return (
        f"Usage: `@{bot} cause <ref>` with a merge request (`!123` or `group/project!123`), a deployment (its id or "
        f"its job's URL) or a feature flag (its name); `@{bot} cause none` clears the cause."
    )


def suspects_command(d: Draft, rest: str) -> tuple[Piece, ...]:
    """The current list of suspects, from the index (any time, on any incident)."""
    return ("**Recent changes** before this incident started (possible causes):\n\n", SuspectsPart())


def cause_command(d: Draft, rest: str) -> str | tuple[Piece, ...]:
    """Plan the cause's record (or say what is wrong); the worker confirms once it is in the index."""
    ref = parse_cause(rest)
    if ref is None:
        shown = neutralise_line(rest[:MAX_SHOWN]) if rest.strip() else ""
        return usage(d.bot) + (f" ({shown} is not one.)" if shown else "")
    by, cause = d.event.actor.username, ref if isinstance(ref, CauseRef) else None  # `none`: clear it
    d.record_cause(RecordCause(RULE, cause, by))
    if cause is not None and _comments(d, cause):
        incident = f"{d.event.project_path or d.event.project_id}#{d.event.iid}"
        d.record_cause(CommentOnCause(RULE, cause, incident, d.issue.web_url or d.event.url))
    named = f": {_named(cause)}" if cause is not None else ""
    d.timeline(f"cause {'named' if cause is not None else 'cleared'} by {mention(by)}{named}")
    return (CauseNote(),)


def _comments(d: Draft, cause: CauseRef) -> bool:
    """Whether the named change's merge requests learn of the incident: not a flag's, never a confidential one's."""
    confidential = d.issue.confidential or d.event.confidential
    return cause.kind is not RefKind.FEATURE_FLAG and d.rules.settings.suspects.comment_on_cause and not confidential


def _named(cause: CauseRef) -> str:
    """The cause as the timeline entry names it: a merge request as a reference (a path that is none: inert)."""
    if cause.kind is RefKind.MERGE_REQUEST and cause.number is not None:
        return ref(cause.path, "!", cause.number)
    return neutralise_line(str(cause))
