"""The drill inject job: post one inject of a drill as a comment, if the issue is still an open drill.

Scheduled by `service.worker.drills.schedule_injects` under its stable name `service.jobs.INJECT_FUNC`
(RQ stores the dotted path with each job, up to a week ahead).
"""

from __future__ import annotations

import logging

from .. import logs
from ..durations import human_duration
from ..events import Actor, Event, Kind, is_incident
from ..rules.drills import is_drill, scenario_of
from ..text import neutralise
from .runtime import current

log = logging.getLogger("incident_bot.drills")
INJECT = "**Drill inject** (T+{after}): {text}"


def post_inject(project_id: int, iid: int, scenario: str, index: int, minutes: float, text: str) -> str:
    """The inject job: post the inject as a comment if the issue is still an open drill of `scenario`."""
    runtime = current()
    blog = logs.bind(log, project=project_id, iid=iid, inject=index)
    if runtime.dry_run:
        blog.info("dry-run: would post drill inject %s of %s", index + 1, scenario)
        return "dry-run"
    bot = runtime.bot_username()
    event = Event(Kind.ISSUE, "inject", project_id, "", iid, Actor(None, bot), is_incident=True)
    delivery = runtime.delivery(event, blog, bot)
    issue = delivery.gitlab.get_issue(project_id, iid)
    rules = delivery.rules
    still = is_incident(issue.issue_type, issue.labels, rules.incident_label) and is_drill(issue.labels, rules)
    if issue.state == "closed" or not still or scenario_of(issue.description) != scenario:
        blog.info("drill inject %s not posted: the drill is closed or no longer a drill of %s", index + 1, scenario)
        return "skipped: no longer an open drill"
    delivery.gitlab.create_note(
        project_id, iid, INJECT.format(after=human_duration(minutes), text=neutralise(text.strip()))
    )
    blog.info("drill inject %s of %s posted", index + 1, scenario)
    return f"posted inject {index + 1}"
