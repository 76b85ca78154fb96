"""Operational alerts, about the bot rather than one incident: plain text to the broadcast channels.

The periodic webhook check calls `alert_responders` when a hook stops or starts delivering. It is a
module-level function because RQ stores a job's arguments by pickling, and a function pickles by name.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from ..config import Settings
from ..rules import ChannelKind, load_rules
from .channels import DeliveryError, SmtpSettings, Target, clip, post_json, resolve, send_email, slack_text

log = logging.getLogger("incident_bot.notify")
SUBJECT_LIMIT = 120
TEXT_LIMIT = 3000


def alert_body(target: Target, text: str, webhook: Mapping[str, Any] | None = None) -> bytes:
    """The JSON body that tells an HTTP channel `text`, in the form its kind expects (`webhook`: a plain
    webhook's own body, for callers with structured data to give)."""
    kind = target.channel.kind
    if kind == ChannelKind.SLACK:
        payload: Mapping[str, Any] = {"text": slack_text(text, TEXT_LIMIT)}
    elif kind == ChannelKind.MATTERMOST:
        payload = {"text": clip(text, TEXT_LIMIT)}
    elif kind == ChannelKind.TEAMS:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": clip(text, TEXT_LIMIT), "wrap": True}],
        }
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        payload = {"type": "message", "attachments": [attachment]}
    else:
        payload = webhook if webhook is not None else {"kind": "operations-alert", "text": clip(text, TEXT_LIMIT)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def send_alert(target: Target, text: str, *, timeout: float = 10) -> None:
    """Tell one channel `text`; raise DeliveryError if it did not take it."""
    if target.channel.kind == ChannelKind.EMAIL:
        mail = EmailMessage()
        mail["Subject"] = clip("incident-bot: " + text.splitlines()[0] if text else "incident-bot alert", SUBJECT_LIMIT)
        mail["From"] = (target.smtp or SmtpSettings()).sender
        mail["To"] = ", ".join(target.recipients)
        mail.set_content(clip(text, TEXT_LIMIT))
        send_email(target, mail, timeout=timeout)
        return
    post_json(target, alert_body(target, text), timeout=timeout)


def alert_responders(text: str) -> None:
    """Tell the rules' broadcast channels `text`; raise the first DeliveryError after trying every channel."""
    rules = load_rules(Settings.from_env().rules_dir)
    names = rules.settings.broadcast_channels
    failures: list[DeliveryError] = []
    for name in names:
        channel = rules.channels.get(name)
        target = resolve(channel, os.environ) if channel is not None else None
        if target is None:
            log.error("operations alert not sent to %s (no target): %s", name, text)
            continue
        try:
            send_alert(target, text)
        except DeliveryError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
