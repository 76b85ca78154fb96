"""The page job: one page to one contact (`channel:NAME` or `email:ADDRESS`), at least once, never twice on success.

Queued by the worker's paging follow-ups under its stable name (`service.jobs.PAGE_FUNC`), retried like a
notification. A person's page carries a signed acknowledgement link when links are on (`PagingSettings.links`);
the link is made when the page is sent, so a retried send carries a fresh one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job

from .. import metrics
from ..jobs import PAGE_FUNC
from ..keys import Keys, safe_job_id
from ..notify.channels import ChannelConfigError, DeliveryError, SmtpSettings, Target, resolve
from ..notify.jobs import FAILURE_TTL, JOB_TIMEOUT, RESULT_TTL, RETRY_INTERVALS, SENT_TTL, deliver
from ..notify.messages import Message, redacted_if_confidential
from ..rules import Channel, ChannelKind
from ..rules.paging import split
from . import tokens
from .settings import PagingSettings

log = logging.getLogger("incident_bot.paging")
EMAIL_CHANNEL = "email"  # the name a page by `email:ADDRESS` is logged and counted under


def page_payload(contact: str, channel: Channel | None, message: Message, key: str, ack: dict[str, Any]) -> dict:
    """Plain data for `send_page` (`ack`: project, iid, page, person; empty person: no link)."""
    declared = None
    if channel is not None:
        declared = {"name": channel.name, "kind": str(channel.kind), "target_env": channel.target_env}
        declared["secret_env"] = channel.secret_env  # type: ignore[assignment]
    shown = redacted_if_confidential(message).to_dict()  # a confidential incident's page names no title
    return {"contact": contact, "channel": declared, "message": shown, "key": key, "ack": ack}


def enqueue_page(queue: Queue, payload: dict[str, Any], *, retry_intervals: Sequence[int] = RETRY_INTERVALS) -> bool:
    """Queue one page as its own job; False when a job for that contact and key already exists."""
    retry = Retry(max=len(retry_intervals), interval=list(retry_intervals)) if retry_intervals else None
    name = payload["channel"]["name"] if payload["channel"] else EMAIL_CHANNEL
    try:
        queue.enqueue(
            PAGE_FUNC,
            payload,
            job_id=Keys.of_queue(queue.name).job_id(safe_job_id(f"page-{payload['key']}-{payload['contact']}")),
            unique=True,
            retry=retry,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"page {name}: {payload['message']['project']}#{payload['message']['iid']}",
        )
    except DuplicateJobError:
        return False
    return True


def target_of(payload: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> Target | None:
    """Where the page goes: a declared channel's target (None: it has none), or an e-mail address."""
    kind, address = split(payload["contact"])
    if kind == "email":
        channel = Channel(EMAIL_CHANNEL, ChannelKind.EMAIL, "")
        return Target(channel, f"mailto:{address}", smtp=SmtpSettings.from_env(env))
    return resolve(Channel(**payload["channel"]), env)


def with_link(message: Message, ack: dict[str, Any], settings: PagingSettings) -> Message:
    """The message with a fresh acknowledgement link for its person, when links are on."""
    if not settings.links or not ack.get("person"):
        return message
    expires = int(time.time() + settings.link_minutes * 60)
    project = (ack["project"], message.project)
    token = tokens.issue(settings.secret, project, ack["iid"], ack["page"], ack["person"], expires)
    return Message.from_dict({**message.to_dict(), "ack_url": settings.ack_url(token)})


def send_page(payload: dict[str, Any]) -> str:
    """RQ job: send one page unless already sent; raise DeliveryError so RQ retries."""
    job: Job | None = get_current_job()
    if job is None:
        raise RuntimeError("send_page runs inside an RQ worker")
    name = payload["channel"]["name"] if payload["channel"] else EMAIL_CHANNEL
    marker = Keys.of_queue(job.origin).notified(f"page:{payload['contact']}", payload["key"])
    if job.connection.exists(marker):
        metrics.notification(name, "already_sent")
        return "already sent"
    message = Message.from_dict(payload["message"])
    try:
        target = target_of(payload, os.environ)
    except ChannelConfigError as exc:
        log.error("page for %s not sent: %s", message.reference, exc)
        metrics.notification(name, "misconfigured")
        raise
    if target is None:
        log.warning("page for %s not sent: channel %s has no target", message.reference, name)
        metrics.notification(name, "no_target")
        return "skipped: no target"
    try:
        deliver(target, with_link(message, payload["ack"], PagingSettings.from_env(os.environ)))
    except DeliveryError as exc:
        log.warning("page for %s to %s failed: %s", message.reference, name, exc.reason)
        metrics.notification(name, "failed")
        raise
    job.connection.set(marker, job.id, ex=SENT_TTL)  # at least once: a kill before this line sends it again
    metrics.notification(name, "sent")
    return "sent"
