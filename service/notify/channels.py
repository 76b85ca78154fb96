"""Notification channels: declared in the rules, resolved from the environment, reached by HTTP or SMTP."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import requests

from ..rules import Channel, ChannelKind

log = logging.getLogger("incident_bot.notify")

DEFAULT_SMTP_HOST = "localhost"
DEFAULT_SMTP_PORT = 25
DEFAULT_SMTP_FROM = "incident-bot@localhost"
NO_TARGET = "channel %s has no target (set %s); its notifications are skipped"
SIGNATURE_HEADER = "X-Incident-Bot-Signature"
TIMESTAMP_HEADER = "X-Incident-Bot-Timestamp"
USER_AGENT = "incident-bot"
EXCERPT_CHARS = 200
_MASS_MENTION = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


HTTP_KINDS = frozenset({ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.WEBHOOK, ChannelKind.MATTERMOST})


class ChannelConfigError(ValueError):
    """A channel's environment holds a value the bot cannot use."""


class DeliveryError(Exception):
    """A channel did not take a notification; the reason never contains the target's URL."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(channel, reason)
        self.channel = channel
        self.reason = reason

    def __str__(self) -> str:
        return f"channel {self.channel}: {self.reason}"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand email over; read from `INCIDENT_BOT_SMTP_*`."""

    host: str = DEFAULT_SMTP_HOST
    port: int = DEFAULT_SMTP_PORT
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    sender: str = DEFAULT_SMTP_FROM

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings:
        """Read the SMTP settings, rejecting a port or STARTTLS flag that is not understood."""
        raw_port = env.get("INCIDENT_BOT_SMTP_PORT", "").strip()
        try:
            port = int(raw_port) if raw_port else DEFAULT_SMTP_PORT
        except ValueError:
            raise ChannelConfigError(f"INCIDENT_BOT_SMTP_PORT must be a port number, got {raw_port!r}") from None
        if not 0 < port < 65536:
            raise ChannelConfigError(f"INCIDENT_BOT_SMTP_PORT must be a port number, got {raw_port!r}")
        raw_tls = env.get("INCIDENT_BOT_SMTP_STARTTLS", "").strip()
        if raw_tls not in ("", "0", "1"):
            raise ChannelConfigError(f"INCIDENT_BOT_SMTP_STARTTLS must be 0 or 1, got {raw_tls!r}")
        return cls(
            host=env.get("INCIDENT_BOT_SMTP_HOST", "").strip() or DEFAULT_SMTP_HOST,
            port=port,
            user=env.get("INCIDENT_BOT_SMTP_USER", "").strip() or None,
            password=env.get("INCIDENT_BOT_SMTP_PASSWORD") or None,
            starttls=raw_tls == "1",
            sender=env.get("INCIDENT_BOT_SMTP_FROM", "").strip() or DEFAULT_SMTP_FROM,
        )


@dataclass(frozen=True)
class Target:
    """A channel with its resolved address; the address and secret stay out of reprs and logs."""

    channel: Channel
    address: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    smtp: SmtpSettings | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        """The addresses of a `mailto:` target."""
        return _mailto_recipients(self.address)

    @property
    def host(self) -> str:
        """Where the target points, safe to log (an incoming-webhook URL's path is its secret)."""
        if self.channel.kind == ChannelKind.EMAIL:
            return f"{self.smtp.host}:{self.smtp.port}" if self.smtp else "smtp"
        return urlsplit(self.address).hostname or "?"


def resolve(channel: Channel, env: Mapping[str, str]) -> Target | None:
    """The channel's target from the environment; None when its variable is unset or empty."""
    address = env.get(channel.target_env, "").strip()
    if not address:
        return None
    if channel.kind in HTTP_KINDS:
        _check_http(channel, address)
        secret = env.get(channel.secret_env, "") if channel.secret_env else ""
        if channel.kind == ChannelKind.WEBHOOK and channel.secret_env and not secret:
            # Sending unsigned because a variable is missing would quietly turn off the receiver's check.
            raise ChannelConfigError(
                f"{channel.secret_env} is declared as the signing secret of webhook channel {channel.name!r}"
                " but is unset or empty"
            )
        return Target(channel, address, secret=secret or None)
    _check_mailto(channel, address)
    return Target(channel, address, smtp=SmtpSettings.from_env(env))


def configured_channels(
    channels: Iterable[Channel], env: Mapping[str, str], log: logging.Logger | logging.LoggerAdapter
) -> list[Target]:
    """The channels that have a target; one log line for each that has none, every bad value in one error."""
    targets: list[Target] = []
    errors: list[str] = []
    for channel in channels:
        try:
            target = resolve(channel, env)
        except ChannelConfigError as exc:
            errors.append(str(exc))
            continue
        if target is None:
            log.warning(NO_TARGET, channel.name, channel.target_env)
        else:
            targets.append(target)
    if errors:
        raise ChannelConfigError("; ".join(errors))
    return targets


def post_json(target: Target, body: bytes, *, timeout: float) -> None:
    """POST a JSON body to an http target, signed when it is a webhook with a secret."""
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if target.channel.kind == ChannelKind.WEBHOOK and target.secret:
        # The timestamp is signed with the body, so a receiver can refuse replays of old messages.
        stamp = str(int(time.time()))
        digest = hmac.new(target.secret.encode("utf-8"), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers[SIGNATURE_HEADER] = f"sha256={digest}"
        headers[TIMESTAMP_HEADER] = stamp
    name, host = target.channel.name, target.host
    # `from None` everywhere: requests' messages and the chained traceback RQ stores
    # would carry the URL, which for Slack and Teams is the credential.
    try:
        response = requests.post(target.address, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise DeliveryError(name, f"{host} did not answer within {timeout:g}s") from None
    except requests.RequestException as exc:
        raise DeliveryError(name, f"cannot reach {host}: {_root_cause(exc)}") from None
    if not 200 <= response.status_code < 300:
        excerpt = clip(" ".join(response.text.split()), EXCERPT_CHARS)
        raise DeliveryError(name, f"{host} answered {response.status_code} {response.reason}: {excerpt}".rstrip(": "))


def send_email(target: Target, mail: EmailMessage, *, timeout: float) -> None:
    """Hand an email to the SMTP server of an email target."""
    settings = target.smtp or SmtpSettings()
    name, host = target.channel.name, target.host
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            refused = smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(name, f"{host} refused every recipient: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(name, f"{host} answered {exc.smtp_code} {clip(reply, EXCERPT_CHARS)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(name, f"cannot hand over to {host}: {_root_cause(exc)}") from None
    if refused:
        # Retrying would mail the accepted recipients again; say who missed it instead.
        log.warning("channel %s: %s refused %s", name, host, ", ".join(sorted(refused)))


def slack_escape(text: str) -> str:
    """Escape user text for Slack mrkdwn so it cannot form links or mentions (`<!channel>`, `@here`)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS_MENTION.sub("@\u200b\\1", escaped)


def slack_text(text: str, limit: int) -> str:
    """User text escaped for Slack and clipped to one of Slack's length limits."""
    # Clip before escaping (clipping after could cut an `&amp;` in half), then shrink
    # further if the entities made the escaped text too long.
    escaped = slack_escape(clip(text, limit))
    while len(escaped) > limit:
        text = text[: len(text) - (len(escaped) - limit) - 1]
        escaped = slack_escape(text + "…")
    return escaped


def clip(text: str, limit: int) -> str:
    """The text, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_http(channel: Channel, address: str) -> None:
    # The value is a credential (Slack and Teams put the secret in the path), so the
    # error names the variable and at most the scheme, never the URL itself.
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = f"a value starting with {parts.scheme + ':'!r}" if parts.scheme else "a value with no scheme"
        raise ChannelConfigError(
            f"{channel.target_env} must be an http(s) URL for {channel.kind} channel {channel.name!r}, got {shown}"
        )
    try:
        _ = parts.port  # urlsplit only checks the port when asked
    except ValueError:
        raise ChannelConfigError(
            f"{channel.target_env} has an invalid port for {channel.kind} channel {channel.name!r}"
        ) from None


def _check_mailto(channel: Channel, address: str) -> None:
    if not address.lower().startswith("mailto:"):
        raise ChannelConfigError(
            f"{channel.target_env} must be a mailto: address list for email channel {channel.name!r}"
        )
    try:
        _mailto_recipients(address)
    except ValueError as exc:
        raise ChannelConfigError(f"{channel.target_env}: {exc} (email channel {channel.name!r})") from None


def _mailto_recipients(address: str) -> tuple[str, ...]:
    body = address[len("mailto:") :]
    if "?" in body:
        raise ValueError("mailto: headers (?subject=...) are not supported")
    recipients = tuple(unquote(part).strip() for part in body.split(",") if part.strip())
    if not recipients:
        raise ValueError("mailto: lists no address")
    for number, recipient in enumerate(recipients, start=1):
        local, at, domain = recipient.rpartition("@")
        # Whitespace or CR/LF in an address would let the value inject SMTP headers.
        if not at or not local or not domain or any(ch.isspace() or ch in "<>," for ch in recipient):
            raise ValueError(f"address {number} of the mailto: list is not an email address")
    return recipients


def _root_cause(exc: BaseException) -> str:
    """The innermost OS-level reason (`Connection refused`), which names no URL."""
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        # requests' own exceptions are OSErrors too, but only the socket-level one is URL-free.
        if isinstance(current, OSError) and not isinstance(current, requests.RequestException):
            if current.strerror:
                return str(current.strerror)
        links = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        stack.extend(link for link in links if isinstance(link, BaseException))
    return type(exc).__name__
