"""The weekly executive digest: the last 7 days against the 4 weeks before, to channels and a reporting issue.

Its week is the ISO week most of its 7-day window lies in (the one of `now - 3.5 days`), so
the Monday run and a re-run later that week (`incident-bot digest --now`) are the same
digest: each channel is told once per week (a Redis marker per week and channel, claimed
before sending and released if the channel refused), and the reporting project's issue of
that week (`Incident digest 2026-W48`) is found again and updated in place, never duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from redis import Redis

from ..durations import human_duration
from ..gitlab import GitLabError, Session, UnexpectedAnswer
from ..gitlab.issues import ProjectIssues
from ..keys import Keys
from ..notify.alerts import alert_body
from ..notify.channels import DeliveryError, SmtpSettings, Target, clip, post_json, resolve, send_email
from ..rules import ChannelKind, RuleSet
from ..store.corrective import with_incidents
from ..store.measure import Measured, measured
from ..store.query import Scope
from . import digest_changes, digest_followups
from .figures import GroupBy, build_report, spread
from .formats import contract, to_markdown
from .targets import targets_from_rules

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger("incident_bot.digest")
WEEK = timedelta(days=7)
COMPARED_WEEKS = 4
SENT_TTL = 40 * 24 * 3600  # longer than a week's re-runs; a marker per week and channel
TEXT_LIMIT = 3000
TITLE = "Incident digest {week}"
REPORT_RETRIES = 0  # as before: a refusal is reported, and the digest job's own retry (RQ) tries again


@dataclass(frozen=True)
class Digest:
    """One week's digest, rendered."""

    week: str
    start: datetime
    end: datetime
    title: str
    markdown: str  # the reporting issue's description
    summary: str  # the few lines a channel gets
    figures: dict[str, Any]  # the week's report (the JSON contract), for webhook channels


@dataclass
class DigestRun:
    """What a run did: channels told now, channels already told this week, the issue, failures."""

    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    issue_url: str | None = None
    issue_created: bool = False
    failures: list[str] = field(default_factory=list)


def week_of(now: datetime) -> str:
    """The ISO week (`2026-W48`) most of the 7 days before `now` lie in."""
    year, week, _ = (now - WEEK / 2).isocalendar()
    return f"{year}-W{week:02d}"


def compose(store: Store, rules: RuleSet, now: datetime) -> Digest:
    """The digest of the 7 days to `now`, compared with the 4 weeks before (drills left out)."""
    targets = targets_from_rules(rules)
    start, before = now - WEEK, now - WEEK * (1 + COMPARED_WEEKS)
    week = list(measured(store.engine, Scope(started_from=start, started_to=now, include_drills=False), now))
    earlier = list(measured(store.engine, Scope(started_from=before, started_to=start, include_drills=False), now))
    report = build_report(week, start=start, end=now, by=GroupBy.SEVERITY, targets=targets)
    previous = build_report(earlier, start=before, end=start, by=GroupBy.SEVERITY, targets=targets)
    label = week_of(now)
    late = digest_followups.overdue(with_incidents(store.engine, open_only=True), rules, now.date())
    changes = digest_changes.week_changes(store.engine, start, now)
    rows = _comparison(
        week,
        earlier,
        report.open,
        sum(sum(g.breaches.values()) for g in report.groups.values()),
        sum(sum(g.breaches.values()) for g in previous.groups.values()),
    )
    table = ["| | this week | weekly average, 4 weeks before |", "| --- | ---: | ---: |"]
    table += [f"| {name} | {now_text} | {then_text} |" for name, now_text, then_text in rows]
    markdown = "\n".join(
        [
            f"# Incident digest {label}",
            "",
            f"The 7 days from {start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC, against the 4 weeks before "
            f"({before:%Y-%m-%d} to {start:%Y-%m-%d}). Drills are left out; times are medians from each "
            "incident's start.",
            "",
            *table,
            "",
            to_markdown(report).replace("## Incident report", "## This week: incident report", 1),
            "",
            digest_followups.section(late),
            "",
            digest_changes.section(changes),
        ]
    )
    said = "; ".join(f"{name} {now_text} (before: {then_text})" for name, now_text, then_text in rows)
    said += f"; {digest_changes.clause(changes)}; {digest_followups.clause(late)}"
    summary = f"Incident digest {label}, 7 days to {now:%Y-%m-%d %H:%M} UTC: {said}."
    return Digest(label, start, now, TITLE.format(week=label), markdown, summary, contract(report))


def _comparison(
    week: list[Measured], earlier: list[Measured], still_open: int, breached: int, breached_before: int
) -> list[tuple[str, str, str]]:
    """(figure, this week, the 4 weeks before as a weekly average or pooled median)."""
    rows = [
        ("incidents", str(len(week)), _avg(len(earlier))),
        ("still open", str(still_open), "—"),
        ("targets breached", str(breached), _avg(breached_before)),
    ]
    for name, attr in (("time to acknowledge", "tta"), ("time to mitigate", "ttm"), ("time to resolve", "ttr")):
        now_m = spread(getattr(r, attr) for r in week).median
        then_m = spread(getattr(r, attr) for r in earlier).median
        rows.append((name, human_duration(now_m), human_duration(then_m)))
    return rows


def _avg(total: int) -> str:
    return f"{total / COMPARED_WEEKS:g}"


def run_digest(
    *,
    store: Store,
    rules: RuleSet,
    connection: Redis,
    now: datetime,
    env: Mapping[str, str],
    gitlab: ReportingProject | None,
    keys: Keys | None = None,
) -> DigestRun:
    """Render the week's digest, put it in the reporting issue (created or updated), tell each channel once."""
    digest = compose(store, rules, now)
    outcome = DigestRun()
    settings = rules.digest
    if gitlab is not None and settings.project:
        try:
            outcome.issue_url, outcome.issue_created = gitlab.publish(settings.project, digest, settings.labels)
        except (GitLabError, UnexpectedAnswer) as exc:
            outcome.failures.append(f"reporting issue in {settings.project}: {exc}")
    text = digest.summary + (f"\nFull digest: {outcome.issue_url}" if outcome.issue_url else "")
    for name in settings.channels:
        channel = rules.channels.get(name)
        target = resolve(channel, env) if channel is not None else None
        if target is None:
            log.warning("digest %s not sent to %s: no such channel or no target configured", digest.week, name)
            continue
        marker = (keys or Keys()).digest_sent(digest.week, name)
        if not connection.set(marker, now.isoformat(), nx=True, ex=SENT_TTL):
            outcome.already.append(name)
            continue
        try:
            send(target, text, digest, outcome.issue_url)
        except DeliveryError as exc:
            connection.delete(marker)  # not told: the next run (RQ's retry, or --now) tries again
            outcome.failures.append(str(exc))
            continue
        outcome.sent.append(name)
    return outcome


def send(target: Target, text: str, digest: Digest, url: str | None, *, timeout: float = 10) -> None:
    """Tell one channel the digest's summary (webhooks also get the week's figures); DeliveryError if refused."""
    kind = target.channel.kind
    if kind == ChannelKind.EMAIL:
        mail = EmailMessage()
        mail["Subject"] = digest.title
        mail["From"] = (target.smtp or SmtpSettings()).sender
        mail["To"] = ", ".join(target.recipients)
        mail.set_content(clip(text, TEXT_LIMIT) + "\n\n" + digest.markdown)
        send_email(target, mail, timeout=timeout)
        return
    webhook = {"kind": "incident-digest", "week": digest.week, "text": text, "url": url, "report": digest.figures}
    post_json(target, alert_body(target, text, webhook), timeout=timeout)


class ReportingProject:
    """The reporting project's weekly issues (found by title, created, updated in place) through service.gitlab."""

    def __init__(self, url: str, token: str, connection: Redis, *, timeout: float = 10.0, keys: Keys | None = None):
        self.session = Session(url, token=token, timeout=timeout, retries=REPORT_RETRIES)
        self.connection = connection
        self.keys = keys or Keys()

    def publish(self, project: str, digest: Digest, labels: tuple[str, ...]) -> tuple[str, bool]:
        """The week's issue with the digest as its description: (web URL, created now)."""
        issues = ProjectIssues(self.session, project)
        memory = self.keys.digest_issue(project, digest.week)
        known = self.connection.get(memory)
        iid = int(known) if known else issues.find(digest.title)
        if iid is not None:
            issue, created = issues.describe(iid, digest.markdown), False
        else:
            issue, created = issues.create(digest.title, digest.markdown, labels), True
        self.connection.set(memory, int(issue["iid"]), ex=SENT_TTL)
        return str(issue.get("web_url") or ""), created
