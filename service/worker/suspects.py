"""The suspects enricher: the changes shortly before the incident started, for `@bot suspects` and a declaration.

Planning is pure, so the `suspects` reply holds a `SuspectsPart` and a declaration a quiet one in its "Recent
changes" section. This enricher runs after the issue write (`worker.enrich.ENRICHERS`), so the first write
never waits for the index. The incident's scope (`worker/scope.py`): its project, the projects its areas share
(those covering its project, and for an alert incident its route's area), its start, and whether it is
confidential (then only its own project's changes are named).
Every text from the index goes through `service.text`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..bounds import parse_time
from ..changes.hooks import Deployment
from ..changes.suspects import Suspect, SuspectScope
from ..gitlab.changes import MergeRequest
from ..parts import SuspectsPart
from ..text import md_link, neutralise_line, ref_text
from .mergerequests import Key, area_reasons, merge_requests
from .scope import incident_scope as incident_scope_of

if TYPE_CHECKING:
    from .enrich import Sources

FAILURE = "incident index not read for suspects"
NONE_FOUND = "*No change in the index shortly before this incident started (deployments to production, flags).*"
UNAVAILABLE = "*The incident index cannot be read right now; try again later.*"
NONE = "*This worker keeps no incident index, so there are no recent changes to show.*"
HEADING = "**Recent changes** before this incident started (possible causes, from the incident index):\n\n"


def fill(sources: Sources, parts: list[SuspectsPart]) -> dict[Any, str | None]:
    """The list in the `suspects` reply (or that there is none), and a declaration's section when there are some."""
    from ..store.changes import suspects  # SQLAlchemy loads with the index, not with the worker

    store = sources.store
    assert store is not None
    found = suspects(store.engine, incident_scope(sources), sources.delivery.rules.settings.suspects)
    deployed = [s.change for s in found if isinstance(s.change, Deployment)]
    carried = merge_requests(store, sources.delivery, deployed)
    listed = render(found, carried, area_reasons(store, sources.delivery, carried))
    return {p: (listed or NONE_FOUND) if p.reply else (HEADING + listed if listed else "") for p in parts}


def incident_scope(sources: Sources) -> SuspectScope:
    """Where and when the incident started, and who may read it (the issue as GitLab has it now)."""
    delivery, issue, store = sources.delivery, sources.state.issue, sources.store
    event = delivery.event
    row = store.incident(event.project_id, event.iid) if store is not None else None
    started = row.started_at if row is not None and row.started_at is not None else _start(sources)
    return incident_scope_of(delivery, issue, started, issue.confidential)


def _start(sources: Sources) -> datetime:
    """The start as the index will derive it (`store.timeline`): the issue's creation when it is opened as an
    incident, else now (the incident label added by this delivery); the index's row, once written, says."""
    attrs = sources.payload.get("object_attributes")
    event = sources.delivery.event
    if isinstance(attrs, dict) and event.action == "open" and not event.is_note:
        created = parse_time(attrs.get("created_at"))
        if created is not None:
            return created
    return sources.delivery.clock()


def line(s: Suspect, carried: dict[Key, list[MergeRequest]] | None = None, why: dict[Key, str] | None = None) -> str:
    """One suspect: what changed (a link to its job only when it is a plain http(s) URL), who, and why it is listed;
    under a deployment, the merge requests it carried."""
    c = s.change
    if isinstance(c, Deployment):
        what = f"deployment {md_link(c.sha or str(c.deployment_id), c.deployable_url)}"
        title = f" {neutralise_line(c.commit_title)}" if c.commit_title else ""
        who = f" by {neutralise_line(c.user)}" if c.user else ""  # named, never pinged
        mrs = (carried or {}).get((c.project_id, c.deployment_id), [])
        return f"- {what}{title}{who}: {s.reason}" + "".join(
            "\n  - " + merge_request_line(mr, (why or {}).get((mr.project_id, mr.iid))) for mr in mrs
        )
    who = f" by {neutralise_line(c.user)}" if c.user else ""
    return f"- {s.reason}{who}"


def merge_request_line(mr: MergeRequest, reason: str | None = None) -> str:
    """A merge request a deployment carried: its reference (a link), title, author (named, never pinged), merge time,
    and the area whose path it touches."""
    title = f" {neutralise_line(mr.title)}" if mr.title else ""
    who = f" by {neutralise_line(mr.author)}" if mr.author else ""
    merged = f", merged {mr.merged_at:%Y-%m-%d %H:%M} UTC" if mr.merged_at is not None else ""
    why = f": {reason}" if reason else ""
    return f"{ref_text(mr.reference or f'!{mr.iid}', mr.web_url)}{title}{who}{merged}{why}"


def render(
    found: list[Suspect], carried: dict[Key, list[MergeRequest]] | None = None, why: dict[Key, str] | None = None
) -> str:
    """The suspects, newest first, one line each (a deployment's merge requests beneath it, with their reasons)."""
    return "\n".join(line(s, carried, why) for s in found)
