"""Notify people: render an incident message per channel kind, deliver it once, and run it as an RQ job."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job

from .channels import (
    NO_TARGET,
    Channel,
    ChannelConfigError,
    ChannelKind,
    DeliveryError,
    SmtpSettings,
    Target,
    clip,
    post_json,
    resolve,
    send_email,
    slack_text,
)
from .channels import configured_channels as configured_channels  # re-exported: one import for callers
from .text import is_username, plain

log = logging.getLogger("incident_bot.notify")

CONFIDENTIAL_TITLE = "Confidential incident"
FAILED = "notification %s for %s to channel %s failed: %s"
SEVERITY_NAMES = {1: "critical", 2: "high", 3: "medium", 4: "low"}
WEBHOOK_VERSION = 1
RETRY_INTERVALS = (2, 10, 30, 120)  # about 3 minutes of channel trouble before a notification is failed
SENT_TTL = 7 * 24 * 3600
JOB_TIMEOUT = 60
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600
# Slack rejects section text over 3,000 characters and field text over 2,000.
SLACK_TEXT_LIMIT = 3000
SLACK_FIELD_LIMIT = 2000
TEXT_LIMIT = 2800
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,120}")


class MessageKind(StrEnum):
    """What happened to the incident."""

    DECLARED = "declared"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    PHASE = "phase"
    HANDOFF = "handoff"
    STATUS_UPDATE = "status_update"
    RESOLVED = "resolved"
    PAGE = "page"


HEADLINES = {
    MessageKind.DECLARED: "Incident declared",
    MessageKind.ESCALATED: "Incident escalated",
    MessageKind.DEESCALATED: "Incident de-escalated",
    MessageKind.PHASE: "Phase changed",
    MessageKind.HANDOFF: "Role handed off",
    MessageKind.STATUS_UPDATE: "Status update",
    MessageKind.RESOLVED: "Incident resolved",
    MessageKind.PAGE: "Team paged",
}


@dataclass(frozen=True)
class Message:
    """One notification about one incident: enough to act on without opening GitLab."""

    kind: MessageKind
    title: str
    project: str
    iid: int
    url: str
    severity: int | None = None
    phase: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    change: str = ""
    text: str | None = None
    confidential: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MessageKind(self.kind))
        object.__setattr__(self, "roles", tuple((str(role), str(user)) for role, user in self.roles))
        # Title and change are headlines: a line break in either would break every layout below.
        object.__setattr__(self, "title", " ".join(self.title.split()))
        object.__setattr__(self, "change", " ".join(self.change.split()))

    def redacted(self) -> Message:
        """The message as a confidential incident may be told: link, severity, phase and the change only."""
        return replace(self, title=CONFIDENTIAL_TITLE, roles=(), text=None, confidential=True)

    @property
    def headline(self) -> str:
        """What happened and to which incident, e.g. `Incident declared: Checkout is down`."""
        return f"{HEADLINES[self.kind]}: {self.title}"

    @property
    def reference(self) -> str:
        """GitLab's short reference, `group/project#12`."""
        return f"{self.project}#{self.iid}"

    @property
    def severity_label(self) -> str:
        """`S1 critical`, or a plain statement that no severity is set."""
        if self.severity is None:
            return "severity not set"
        return f"S{self.severity} {SEVERITY_NAMES.get(self.severity, '')}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for an RQ job payload."""
        data = asdict(self)
        data["kind"] = str(self.kind)
        data["roles"] = [list(pair) for pair in self.roles]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """The inverse of `to_dict`."""
        return cls(**{**data, "roles": tuple(tuple(pair) for pair in data.get("roles", ()))})


def render_slack(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook body: fallback `text` for notifications, `blocks` for the channel."""
    m = _shown(message, angles=False)  # slack_text escapes `<`, `>` and `&` itself
    link = m.url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    lead = f"*<{link}|{slack_text(m.headline, 500)}>*"
    if m.change:
        lead += "\n" + slack_text(m.change, 1000)
    fields = [
        {"type": "mrkdwn", "text": f"*{name}*\n{slack_text(value, SLACK_FIELD_LIMIT - 50)}"}
        for name, value in _facts(m)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": lead}},
        {"type": "section", "fields": fields},
    ]
    if m.text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": slack_text(m.text, SLACK_TEXT_LIMIT)}})
    footer = {"type": "mrkdwn", "text": f"<{link}|Open {slack_text(m.reference, 300)}>"}
    blocks.append({"type": "context", "elements": [footer]})
    return {"text": slack_text(_summary(m), SLACK_TEXT_LIMIT), "blocks": blocks}


def render_teams(message: Message) -> dict[str, Any]:
    """A Teams incoming-webhook body: one Adaptive Card, accepted by Workflows and the older connectors."""
    m = _shown(message)
    body = [_text_block(m.headline, 500, weight="Bolder", size="Medium")]
    if m.change:
        body.append(_text_block(m.change, 1000))
    body.append({"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in _facts(m)]})
    if m.text:
        body.append(_text_block(m.text, TEXT_LIMIT, separator=True))
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": f"Open {m.reference}", "url": m.url}],
        "msteams": {"width": "Full"},
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def render_webhook(message: Message) -> dict[str, Any]:
    """The generic webhook body: the message's fields as JSON, plus a one-line summary."""
    m = _shown(message)
    data = m.to_dict()
    data["roles"] = [{"role": role, "username": user} for role, user in m.roles]
    return {"version": WEBHOOK_VERSION, **data, "severity_label": m.severity_label, "summary": _summary(m)}


def render_email(message: Message, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """A plain-text email: the summary as subject, the facts, the link and any longer text."""
    m = _shown(message)
    mail = EmailMessage()
    mail["Subject"] = clip(" ".join(_summary(m).split()), 250)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    lines = [m.headline]
    if m.change:
        lines.append(m.change)
    lines.append("")
    lines.extend(f"{name}: {value}".replace("\n", "\n  ") for name, value in _facts(m))
    lines.append(f"Link: {m.url}")
    if m.text:
        lines.extend(["", m.text])
    mail.set_content("\n".join(lines) + "\n")
    return mail


def deliver(target: Target, message: Message, *, timeout: float = 10) -> None:
    """Send the message to the target once; raise DeliveryError if the channel did not take it."""
    kind = target.channel.kind
    if kind == ChannelKind.EMAIL:
        sender = (target.smtp or SmtpSettings()).sender
        mail = render_email(message, sender=sender, recipients=target.recipients)
        send_email(target, mail, timeout=timeout)
        return
    renderer = {ChannelKind.SLACK: render_slack, ChannelKind.TEAMS: render_teams}.get(kind, render_webhook)
    body = json.dumps(renderer(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    post_json(target, body, timeout=timeout)


def notification_payload(channel: Channel, message: Message, dedupe_key: str) -> dict[str, Any]:
    """Plain data for `send_notification`; a confidential message is redacted before it is stored."""
    return {
        "channel": {
            "name": channel.name,
            "kind": str(channel.kind),
            "target_env": channel.target_env,
            "secret_env": channel.secret_env,
        },
        "message": _redacted(message).to_dict(),
        "dedupe_key": dedupe_key,
    }


def sent_marker_key(channel_name: str, dedupe_key: str) -> str:
    """The Redis key that records a notification as delivered to one channel."""
    return f"incident-bot:notified:{channel_name}:{dedupe_key}"


def notification_job_id(channel_name: str, dedupe_key: str) -> str:
    """The RQ job id of one notification to one channel: readable when it can be, hashed when needed."""
    raw = f"notify-{channel_name}-{dedupe_key}"
    if _JOB_ID.fullmatch(raw):
        return raw
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:80]
    return f"{readable}-{hashlib.sha256(raw.encode('utf-8')).hexdigest()[:24]}"


def enqueue_notification(
    queue: Queue,
    channel: Channel,
    message: Message,
    dedupe_key: str,
    *,
    retry_intervals: Sequence[int] = RETRY_INTERVALS,
) -> Job | None:
    """Queue one notification as its own job; None when a job for that channel and key already exists."""
    retry = Retry(max=len(retry_intervals), interval=list(retry_intervals)) if retry_intervals else None
    try:
        return queue.enqueue(
            send_notification,
            notification_payload(channel, message, dedupe_key),
            job_id=notification_job_id(channel.name, dedupe_key),
            unique=True,
            retry=retry,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            # RQ's default description repeats the arguments, which would show the title in dashboards.
            description=f"notify {channel.name}: {message.kind} {message.reference}",
        )
    except DuplicateJobError:
        return None


def send_notification(payload: dict[str, Any]) -> str:
    """RQ job: deliver one notification unless already delivered; raise DeliveryError so RQ retries."""
    channel = Channel(**payload["channel"])
    message = Message.from_dict(payload["message"])
    job = get_current_job()
    if job is None:
        raise RuntimeError("send_notification runs inside an RQ worker")
    marker = sent_marker_key(channel.name, payload["dedupe_key"])
    if job.connection.exists(marker):
        return "already sent"
    try:
        target = resolve(channel, os.environ)
    except ChannelConfigError as exc:
        log.error("notification %s for %s not sent: %s", message.kind, message.reference, exc)
        raise
    if target is None:
        log.warning(NO_TARGET, channel.name, channel.target_env)
        return "skipped: no target"
    try:
        deliver(target, message)
    except DeliveryError as exc:
        log.warning(FAILED, message.kind, message.reference, channel.name, exc.reason)
        raise
    # At least once: a worker killed between delivery and this line sends it again on retry.
    job.connection.set(marker, job.id, ex=SENT_TTL)
    return "sent"


def _redacted(message: Message) -> Message:
    return message.redacted() if message.confidential else message


def _shown(message: Message, *, angles: bool = True) -> Message:
    """The message as rendered: redacted if confidential, and every user-supplied string made inert."""
    m = _redacted(message)
    return replace(
        m,
        title=plain(m.title, angles=angles),
        change=plain(m.change, angles=angles),
        text=plain(m.text, angles=angles) if m.text else m.text,
        roles=tuple((plain(role, angles=angles), _person(user, angles)) for role, user in m.roles),
    )


def _person(user: str, angles: bool) -> str:
    return user if is_username(user) else plain(user, angles=angles)


def _facts(m: Message) -> list[tuple[str, str]]:
    facts = [("Severity", m.severity_label), ("Phase", m.phase or "not set"), ("Incident", m.reference)]
    if m.roles:
        # Only a valid username is shown as a handle; anything else is nobody's.
        people = (f"{role}: @{user}" if is_username(user) else f"{role}: {user}" for role, user in m.roles)
        facts.append(("Roles", "\n".join(people)))
    return facts


def _summary(m: Message) -> str:
    line = f"[{m.severity_label}] {m.headline} ({m.reference})"
    return f"{line}: {m.change}" if m.change else line


def _text_block(text: str, limit: int, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": clip(text, limit), "wrap": True, **style}
