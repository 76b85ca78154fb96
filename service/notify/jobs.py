"""Notification jobs: one RQ job per message and channel, delivered at least once, never twice on success."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job

from .. import metrics
from ..jobs import NOTIFY_FUNC
from ..keys import Keys
from ..rules import Channel, ChannelKind
from .channels import (
    NO_TARGET,
    ChannelConfigError,
    DeliveryError,
    SmtpSettings,
    Target,
    post_json,
    resolve,
    send_email,
)
from .messages import (
    Message,
    redacted_if_confidential,
    render_email,
    render_mattermost,
    render_slack,
    render_teams,
    render_webhook,
)

log = logging.getLogger("incident_bot.notify")

FAILED = "notification %s for %s to channel %s failed: %s"
RETRY_INTERVALS = (2, 10, 30, 120)  # about 3 minutes of channel trouble before a notification is failed
SENT_TTL = 7 * 24 * 3600
JOB_TIMEOUT = 60
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,120}")
# Where each send's outcome goes (the worker points it at the incident index): message, channel, ok, reason, attempt.
OutcomeRecorder = Callable[[Message, str, bool, str, int], None]
_recorder: OutcomeRecorder | None = None


def record_outcomes_with(recorder: OutcomeRecorder | None) -> None:
    """Tell every later notification job of this process where to record its outcome (None: nowhere)."""
    global _recorder
    _recorder = recorder


def _record(job: Job, message: Message, channel: str, ok: bool, reason: str = "") -> None:
    """Record one attempt's outcome; a recorder's failure is a warning, never the notification's failure."""
    if _recorder is None:
        return
    # RQ counts retries down after a failed run: during this run, those used so far are the earlier attempts.
    attempt = 1 + max(0, len(job.retry_intervals or []) - (job.retries_left or 0))
    try:
        _recorder(message, channel, ok, reason, attempt)
    except Exception as exc:  # noqa: BLE001 - the record is history for the incident page; the send is what counts
        log.warning("notification outcome not recorded: %s: %s", type(exc).__name__, exc)


def deliver(target: Target, message: Message, *, timeout: float = 10) -> None:
    """Send the message to the target once; raise DeliveryError if the channel did not take it."""
    kind = target.channel.kind
    if kind == ChannelKind.EMAIL:
        sender = (target.smtp or SmtpSettings()).sender
        mail = render_email(message, sender=sender, recipients=target.recipients)
        send_email(target, mail, timeout=timeout)
        return
    renderers = {
        ChannelKind.SLACK: render_slack,
        ChannelKind.TEAMS: render_teams,
        ChannelKind.MATTERMOST: render_mattermost,
    }
    renderer = renderers.get(kind, render_webhook)
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
        "message": redacted_if_confidential(message).to_dict(),
        "dedupe_key": dedupe_key,
    }


def sent_marker_key(channel_name: str, dedupe_key: str, keys: Keys | None = None) -> str:
    """The Redis key that records a notification as delivered to one channel."""
    return (keys or Keys()).notified(channel_name, dedupe_key)


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
            NOTIFY_FUNC,
            notification_payload(channel, message, dedupe_key),
            job_id=Keys.of_queue(queue.name).job_id(notification_job_id(channel.name, dedupe_key)),
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
    marker = sent_marker_key(channel.name, payload["dedupe_key"], Keys.of_queue(job.origin))
    if job.connection.exists(marker):
        metrics.notification(channel.name, "already_sent")
        return "already sent"
    try:
        target = resolve(channel, os.environ)
    except ChannelConfigError as exc:
        log.error("notification %s for %s not sent: %s", message.kind, message.reference, exc)
        metrics.notification(channel.name, "misconfigured")
        _record(job, message, channel.name, False, str(exc))
        raise
    if target is None:
        log.warning(NO_TARGET, channel.name, channel.target_env)
        metrics.notification(channel.name, "no_target")
        return "skipped: no target"
    try:
        deliver(target, message)
    except DeliveryError as exc:
        log.warning(FAILED, message.kind, message.reference, channel.name, exc.reason)
        metrics.notification(channel.name, "failed")
        _record(job, message, channel.name, False, exc.reason)
        raise
    # At least once: a worker killed between delivery and this line sends it again on retry.
    job.connection.set(marker, job.id, ex=SENT_TTL)
    metrics.notification(channel.name, "sent")
    _record(job, message, channel.name, True)
    return "sent"
