"""The follow-ups' overdue pass: every worker schedules it hourly, one run per period across them (issue 20).

For each open follow-up in the index: on its due date one comment on its issue naming the owner, then one
every `followups.remind_every_days` (default a week) while it stays open; once it is
`followups.escalate_after_days` overdue the incident manager of its incident is named too. Each reminder is
posted once: its number is kept in the index (`reminded`) and in Redis (`keys.follow_up_reminded`), checked before
and written right after the comment, and carried by the comment's hidden marker (`corrective.reminder_marker`), read
back from the bot's newest comments on the issue (one page) before a reminder is posted, so one posted but never
recorded (the worker killed, GitLab's answer lost) is not posted again; `reindex` rebuilds `reminded` from it too.
A confidential incident's public follow-up names no manager: the manager is named in the incident by a step of its
own, once per reminder and only after that reminder was posted, so a refused escalation is retried alone (not for a
reminder the release before posted with its escalation: `overdue_marks.escalated_with_reminder`; nor, taken as
done and logged, for one the index counts posted whose Redis marker is lost, since that release's note carries no
marker to read back). A "no owner yet" note names a follow-up only as `corrective.may_name` allows (else its
reference). A follow-up with
no owner is named in the review (or, without one, the incident) on the same cadence from its opening, until it has
one. Each of those notes' number is kept in Redis and in its marker (`corrective.named_marker`), read back from the
bot's notes there before the next is posted (`overdue_marks`). `incident-bot follow-ups --check` runs a pass now;
the scheduled job skips when another worker ran this period's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis import Redis

from .. import corrective_text as say
from .. import metrics
from ..changes.suspects import scope_of
from ..corrective import REVIEWS_CAP, FollowUp, FollowUpIssue, may_name, named_marker, reminder_marker, review_iid
from . import overdue_marks as marks
from .overdue_marks import Context

if TYPE_CHECKING:
    from ..config import Settings
    from ..rules import RuleSet
    from ..store import Store
    from ..store.corrective import IncidentFacts

# The store (SQLAlchemy), the GitLab client and RQ are imported when a pass runs: the worker's scheduler and the
# CLI import this module to name the job and build the parser.
log = logging.getLogger("incident_bot.ops")
CHECK_SECONDS = 3600
MANAGER_ROLE = "incident-manager"  # the role named on escalation (rules/roles.yml)


@dataclass
class Pass:
    """What one pass did."""

    reminded: list[str] = field(default_factory=list)  # `ref (number)`
    escalated: list[str] = field(default_factory=list)
    unowned: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"follow-ups: {len(self.reminded)} overdue reminders ({len(self.escalated)} naming the incident manager), "
            f"{len(self.unowned)} without owner named, {len(self.failures)} failed"
        )


def run_pass(ctx: Context) -> Pass:
    """Remind the owners of overdue follow-ups and name the ones without owner; each once per period."""
    from ..store.corrective import with_incidents  # SQLAlchemy loads when the pass runs

    done = Pass()
    for fu, facts in with_incidents(ctx.store.engine, open_only=True):
        for step in (_overdue, _escalate, _unowned):  # each once: one failing retries only itself next pass
            try:
                step(ctx, fu, facts, done)
            # The batch's policy, as the gauges' and the notification job's: one follow-up's trouble (GitLab
            # refusing, an answer it cannot read, Redis away) is logged and counted, and stops no other.
            except Exception as exc:  # noqa: BLE001
                log.warning("follow-up %s: %s not posted: %s: %s", fu.ref, step.__name__[1:], type(exc).__name__, exc)
                done.failures.append(f"{fu.ref}: {type(exc).__name__}")
    return done


def _due(ctx: Context, fu: FollowUp, facts: IncidentFacts | None) -> tuple[int, str | None, bool] | None:
    """The overdue reminder due now (None: not overdue): its number, the incident manager it names (once
    `escalate_after_days` overdue), and whether the issue may not name them (`hidden`: a confidential incident's
    public follow-up, whose manager is named in the incident instead)."""
    settings = ctx.rules.settings.followups
    late = fu.days_overdue(ctx.now.date())
    if late is None:
        return None
    number = late // settings.remind_every_days + 1  # 1 on the due date, 2 a period later, ...
    manager = facts.roles.get(MANAGER_ROLE) if facts is not None and late >= settings.escalate_after_days else None
    return number, manager, not fu.confidential and (facts is None or facts.confidential)


def _overdue(ctx: Context, fu: FollowUp, facts: IncidentFacts | None, done: Pass) -> None:
    from ..store.corrective import set_reminded

    due = _due(ctx, fu, facts)
    if due is None:
        return
    number, manager, hidden = due
    if fu.owner is None and manager is None:  # named in the review (`_unowned`) until escalated
        return
    if fu.reminded >= number or not marks.once(ctx, fu, "overdue", number) or not _still_open(ctx, fu):
        return
    if marks.reminded_before(ctx, fu) >= number:  # posted, never recorded (killed, or GitLab's answer lost)
        log.info("follow-up %s: overdue reminder %s already in its comments, recorded", fu.ref, number)
        marks.posted(ctx, fu, "overdue", number)
        set_reminded(ctx.store.engine, fu.project_id, fu.iid, number)
        return
    incident = None if hidden else say.incident_ref(fu, facts.project_path if facts else "", fu.project_id)
    text = say.reminder(fu, ctx.now.date(), None if hidden else manager, incident)
    ctx.client.create_note(fu.project_id, fu.iid, f"{text}\n\n{reminder_marker(number)}")
    marks.posted(ctx, fu, "overdue", number)  # at once: nothing after it may post this reminder again
    metrics.follow_up_reminder("escalated" if manager else "overdue")
    set_reminded(ctx.store.engine, fu.project_id, fu.iid, number)
    done.reminded.append(f"{fu.ref} ({number})")
    if manager:
        done.escalated.append(fu.ref)


def _escalate(ctx: Context, fu: FollowUp, facts: IncidentFacts | None, done: Pass) -> None:
    """A hidden reminder naming no manager: the manager is named in the (confidential) incident, once per reminder,
    after that reminder was posted (its marker read back); a failure is retried alone at the next pass."""
    due = _due(ctx, fu, facts)
    if due is None:
        return
    number, manager, hidden = due
    if not hidden or manager is None:
        return
    unmarked = marks.once(ctx, fu, "overdue", number)
    if not (fu.reminded >= number or not unmarked) or not marks.once(ctx, fu, "escalation", number):
        return
    if unmarked:  # posted (the index says), its Redis marker lost: by the release before, with its escalation
        log.info("follow-up %s: reminder %s posted but unmarked in Redis, its escalation taken as done", fu.ref, number)
        marks.posted(ctx, fu, "escalation", number)
        return
    if marks.escalated_with_reminder(ctx, fu, number):  # the release before named the manager with the reminder
        marks.posted(ctx, fu, "escalation", number)
        return
    where = (fu.incident_project_id, fu.incident_iid)
    if marks.named_before(ctx, fu, where, "escalated") < number:  # else Redis lost its marker: GitLab has the note
        text = say.escalation(fu, ctx.now.date(), manager, shown=_names(ctx, fu, facts)(fu))
        ctx.client.create_note(*where, f"{text}\n\n{named_marker('escalated', fu.project_id, fu.iid, number)}")
    marks.posted(ctx, fu, "escalation", number)


def _still_open(ctx: Context, fu: FollowUp) -> bool:
    """Read the follow-up's issue now (its project may send the bot no hooks): closed, or no follow-up any more, no
    reminder is due, and the Issue Hook GitLab did not send is queued for the worker's tracking."""
    issue = ctx.client.get_follow_up(fu.project_id, fu.iid)
    if issue.state == "opened" and ctx.rules.settings.followups.label in issue.labels:
        return True
    _queue_tracking(ctx, fu, issue)
    return False


def _queue_tracking(ctx: Context, fu: FollowUp, issue: FollowUpIssue) -> None:
    """The follow-up's Issue Hook as GitLab would have sent it, queued in the issue's order: the tracking reads the
    issue afresh, keeps it in the index (or forgets it) and ticks the incident's and review's checklists."""
    from .reconcile import synthetic_payload

    label = ctx.rules.settings.followups.label
    if ctx.deliveries is None:
        log.warning("follow-up %s changed in GitLab but not queued for tracking: no deliveries queue", fu.ref)
        return
    stamp = (issue.updated_at or ctx.now).isoformat()
    fields = {"iid": issue.iid, "project_id": issue.project_id, "title": issue.title, "web_url": issue.url}
    fields.update(state=issue.state, labels=sorted(issue.labels), confidential=issue.confidential, issue_type="issue")
    fields.update(updated_at=stamp)
    payload = synthetic_payload(fields, issue.project_path or fu.project_path, "update")
    if label not in issue.labels:  # what the tracking reads as the label removed
        payload["changes"] = {
            "labels": {"previous": [*payload["labels"], {"title": label}], "current": payload["labels"]}
        }
    ident = f"follow-up-check-{issue.project_id}-{issue.iid}-{issue.state}-{stamp}"
    meta = {"delivery_id": ident, "event_uuid": None, "event": "Issue Hook", "received_at": time.time()}
    body = json.dumps(payload).encode()
    ctx.deliveries.enqueue(body, meta, delivery_id=ident, issue_key=f"{issue.project_id}:{issue.iid}", actor="")


def _unowned(ctx: Context, fu: FollowUp, facts: IncidentFacts | None, done: Pass) -> None:
    if fu.owner is not None or fu.opened_at is None:
        return
    # The reply to the command said it has no owner; a period later (and each period after) the review says so.
    number = (ctx.now - fu.opened_at).days // ctx.rules.settings.followups.remind_every_days
    if number < 1 or not marks.once(ctx, fu, "unowned", number) or not _still_open(ctx, fu):
        return
    where = _review(ctx, fu, facts)
    if marks.named_before(ctx, fu, where, "unowned") >= number:  # Redis lost its marker: GitLab has this period's note
        marks.posted(ctx, fu, "unowned", number)
        return
    text = say.unowned([fu], ctx.now.date(), shown=_names(ctx, fu, facts))
    ctx.client.create_note(where[0], where[1], f"{text}\n\n{named_marker('unowned', fu.project_id, fu.iid, number)}")
    metrics.follow_up_reminder("unowned")
    marks.posted(ctx, fu, "unowned", number)
    done.unowned.append(fu.ref)


def _names(ctx: Context, fu: FollowUp, facts: IncidentFacts | None) -> Callable[[FollowUp], bool]:
    """Which follow-ups a note about this one's incident may name (`corrective.may_name`): by the incident's scope
    from the rules (its project, those its areas share; unknown, its own project only), into its review or itself,
    confidential as the incident is (unknown: public)."""
    secret = facts is not None and facts.confidential
    path = facts.project_path if facts is not None else ""
    scope = scope_of(ctx.rules, fu.incident_project_id, path, ctx.now, facts is None or secret)
    elsewhere = ctx.rules.settings.followups.project
    return lambda row: may_name(row, sees=scope.sees, confidential=secret, followups_project=elsewhere)


def _review(ctx: Context, fu: FollowUp, facts: IncidentFacts | None) -> tuple[int, int]:
    """Where an unowned follow-up is named: the review the bot opened, else one linked by hand that may show it
    (in the incident's project; for a confidential incident, read now and still confidential), else the incident."""
    from ..store.reviews import reviews_of

    incident = (fu.incident_project_id, fu.incident_iid)
    review = review_iid(facts.review_url if facts is not None else None)
    if review is not None:
        return incident[0], review
    secret = facts is None or facts.confidential
    for by_hand in reviews_of(ctx.store.engine, incident)[:REVIEWS_CAP]:  # a call each
        if by_hand[0] == incident[0] and (not secret or _confidential(ctx, by_hand)):
            return by_hand
    return incident


def _confidential(ctx: Context, key: tuple[int, int]) -> bool:
    """Whether an issue is confidential now (one deleted, or that the bot may not see: not)."""
    from ..gitlab import PermanentGitLabError

    try:
        return ctx.client.get_follow_up(*key).confidential
    except PermanentGitLabError:
        return False


def check_now(
    settings: Settings, rules: RuleSet, connection: Redis, *, store: Store | None = None, now: datetime | None = None
) -> Pass:
    """One pass now, with the worker's GitLab client and index (an index not given is opened for the pass)."""
    from ..gitlab import BotClient
    from ..queue import EventQueue
    from ..store import open_store

    client = BotClient.for_settings(settings, connection)
    opened = store or open_store()
    try:
        deliveries = EventQueue(connection, settings.queue_name, dedupe_ttl=settings.dedupe_ttl, keys=settings.keys)
        ctx = Context(opened, client, rules, connection, settings.keys, now or datetime.now(UTC), deliveries)
        return run_pass(ctx)
    finally:
        if store is None:
            opened.engine.dispose()


def follow_ups_check_job(every_seconds: int = CHECK_SECONDS) -> str:
    """RQ job, scheduled hourly by every worker: one overdue pass per `every_seconds` across them (0: every time)."""
    from rq import get_current_job

    from ..config import Settings
    from ..rules import load_rules

    job = get_current_job()
    if job is None:
        raise RuntimeError("the follow-ups check runs inside an RQ worker")
    settings = Settings.from_env()
    if settings.dry_run:
        return "skipped: dry-run (no GITLAB_TOKEN)"
    ran = settings.keys.follow_ups_check_ran
    if every_seconds > 0 and not job.connection.set(ran, "1", nx=True, ex=max(every_seconds - 5, 1)):
        return "skipped: another worker ran this period's follow-ups check"
    done = check_now(settings, load_rules(settings.rules_dir), job.connection)
    log.info("%s", done.summary())
    return done.summary()
