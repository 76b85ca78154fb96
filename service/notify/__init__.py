"""The notification layer: telling people outside GitLab (Slack, Teams, webhooks, email).

Owns resolving and reaching channels (`channels`), what a message says and how each
kind renders it (`messages`), and the notification job (`jobs`). Channels are declared
in the rules (`service.rules.Channel`); the worker's follow-ups queue the jobs.

`service.notify.send_notification` is a job name: RQ stores it with every queued
notification, so it stays importable here (`service.jobs.NOTIFY_FUNC`).
"""

from ..rules import Channel, ChannelKind
from .channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ChannelConfigError,
    DeliveryError,
    Target,
    configured_channels,
    resolve,
)
from .jobs import (
    deliver,
    enqueue_notification,
    notification_job_id,
    notification_payload,
    send_notification,
    sent_marker_key,
)
from .messages import Message, MessageKind, render_email, render_slack, render_teams, render_webhook

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Channel",
    "ChannelConfigError",
    "ChannelKind",
    "DeliveryError",
    "Message",
    "MessageKind",
    "Target",
    "configured_channels",
    "deliver",
    "enqueue_notification",
    "notification_job_id",
    "notification_payload",
    "render_email",
    "render_slack",
    "render_teams",
    "render_webhook",
    "resolve",
    "send_notification",
    "sent_marker_key",
]
