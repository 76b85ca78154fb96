"""Notification messages: what one message says, and how each channel kind renders it (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from ..text import is_username, plain, safe_url
from .channels import clip, slack_text

CONFIDENTIAL_TITLE = "Confidential incident"
WEBHOOK_VERSION = 1
# Slack rejects section text over 3,000 characters and field text over 2,000.
SLACK_TEXT_LIMIT = 3000
SLACK_FIELD_LIMIT = 2000
TEXT_LIMIT = 2800


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
    PAGED = "paged"  # a person (or channel) paged: acknowledge or it escalates (service.paging)
    PAGE_UNACKNOWLEDGED = "page_unacknowledged"  # every level paged, nobody acknowledged


HEADLINES = {
    MessageKind.DECLARED: "Incident declared",
    MessageKind.ESCALATED: "Incident escalated",
    MessageKind.DEESCALATED: "Incident de-escalated",
    MessageKind.PHASE: "Phase changed",
    MessageKind.HANDOFF: "Role handed off",
    MessageKind.STATUS_UPDATE: "Status update",
    MessageKind.RESOLVED: "Incident resolved",
    MessageKind.PAGE: "Team paged",
    MessageKind.PAGED: "You are paged",
    MessageKind.PAGE_UNACKNOWLEDGED: "Page not acknowledged",
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
    severity_name: str = ""  # the rules' name for the level; a payload queued before it existed has none
    roles: tuple[tuple[str, str], ...] = ()
    change: str = ""
    text: str | None = None
    confidential: bool = False
    ack_url: str = ""  # a page's signed acknowledgement link (service.paging.tokens); "" when links are off

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
        return f"S{self.severity} {self.severity_name}".rstrip()

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
    if m.ack_url:  # a link button: it opens the confirmation page, which acknowledges on its own POST
        button = {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": m.ack_url}
        blocks.append({"type": "actions", "elements": [{**button, "style": "primary", "action_id": "ack"}]})
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
        "actions": [{"type": "Action.OpenUrl", "title": f"Open {m.reference}", "url": m.url}]
        + ([{"type": "Action.OpenUrl", "title": "Acknowledge", "url": m.ack_url}] if m.ack_url else []),
        "msteams": {"width": "Full"},
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def render_mattermost(message: Message) -> dict[str, Any]:
    """A Mattermost incoming-webhook body: Markdown `text` (a notification's preview) and one attachment."""
    m = _shown(message)  # mentions and links made inert; Mattermost renders no HTML
    link = m.url if safe_url(m.url) else ""
    lead = f"**[{m.headline}]({link})**" if link else f"**{m.headline}**"
    fields = [{"short": name != "Roles", "title": name, "value": clip(value, TEXT_LIMIT)} for name, value in _facts(m)]
    attachment: dict[str, Any] = {"fallback": clip(_summary(m), 500), "text": clip(m.change, 1000), "fields": fields}
    if m.text:
        attachment["fields"].append({"short": False, "title": "Text", "value": clip(m.text, TEXT_LIMIT)})
    if m.ack_url and safe_url(m.ack_url):  # a plain link: interactive buttons need an integration server
        lead += f"\n[Acknowledge]({m.ack_url})"
    return {"text": clip(lead, TEXT_LIMIT), "attachments": [attachment]}


def render_webhook(message: Message) -> dict[str, Any]:
    """The generic webhook body: the message's fields as JSON, plus a one-line summary."""
    m = _shown(message)
    data = m.to_dict()
    data["roles"] = [{"role": role, "username": user} for role, user in m.roles]
    del data["severity_name"]  # shown in severity_label; the webhook contract (version 1) stays as it was
    if not m.ack_url:
        del data["ack_url"]  # only a page carries one: every other message is exactly as before
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
    if m.ack_url:
        lines.append(f"Acknowledge: {m.ack_url}")
    if m.text:
        lines.extend(["", m.text])
    mail.set_content("\n".join(lines) + "\n")
    return mail


def redacted_if_confidential(message: Message) -> Message:
    return message.redacted() if message.confidential else message


def _shown(message: Message, *, angles: bool = True) -> Message:
    """The message as rendered: redacted if confidential, and every user-supplied string made inert."""
    m = redacted_if_confidential(message)
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
