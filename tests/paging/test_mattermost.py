"""Mattermost as a channel kind, against a real local receiver; and the signed acknowledgement tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from service.notify.channels import resolve
from service.notify.jobs import deliver
from service.notify.messages import Message, MessageKind
from service.paging import tokens
from service.rules import Channel, ChannelKind
from tests.receivers import HttpReceiver

SECRET = "a-long-enough-ack-secret"


@pytest.fixture()
def receiver() -> Iterator[HttpReceiver]:
    found = HttpReceiver()
    yield found
    found.close()


def page(**fields: object) -> Message:
    base = {"kind": MessageKind.PAGED, "title": "Checkout down", "project": "g/p", "iid": 23, "severity": 1}
    return Message(**cast(Any, {**base, "url": "https://gitlab.example.com/g/p/-/issues/23", **fields}))


def send(receiver: HttpReceiver, message: Message) -> dict:
    target = resolve(Channel("pager", ChannelKind.MATTERMOST, "PAGER_URL"), {"PAGER_URL": receiver.url})
    assert target is not None
    deliver(target, message)
    return receiver.delivered[-1].json()


def test_a_page_to_mattermost(receiver: HttpReceiver) -> None:
    """Markdown text with the linked headline and the acknowledgement link, the facts in one attachment."""
    body = send(receiver, page(severity_name="critical", change="@eoc-carol is paged", ack_url="https://bot/ack/x.y"))
    assert body["text"] == (
        "**[You are paged: Checkout down](https://gitlab.example.com/g/p/-/issues/23)**\n[Acknowledge](https://bot/ack/x.y)"
    )
    (attachment,) = body["attachments"]
    assert attachment["fallback"].startswith("[S1 critical] You are paged: Checkout down (g/p#23)")
    assert {f["title"]: f["value"] for f in attachment["fields"]}["Severity"] == "S1 critical"
    assert receiver.delivered[-1].headers["content-type"].startswith("application/json")


def test_user_text_cannot_mention_everyone_or_link(receiver: HttpReceiver) -> None:
    """A hostile title neither reaches @channel/@all nor forms a Markdown link; a confidential title is hidden."""
    body = send(receiver, page(title="@channel @all [click](https://evil.example) <b>"))
    text = body["text"]
    assert "@channel" not in text and "@all" not in text and "](https://evil" not in text and "<b>" not in text
    hidden = send(receiver, page(title="Customer X data leak", confidential=True))
    assert "Customer X" not in str(hidden)


def test_tokens_are_signed_expiring_and_bound_to_person_and_incident() -> None:
    """A token verifies until it expires; any change to it is refused; garbage is malformed, never an error."""
    token = tokens.issue(SECRET, (1, "g/p"), 23, "abc123", "eoc-carol", int(time.time()) + 60)
    claims = tokens.verify(SECRET, token, time.time())
    assert isinstance(claims, tokens.AckClaims) and (claims.person, claims.project, claims.iid) == ("eoc-carol", 1, 23)
    assert tokens.verify(SECRET, token, time.time() + 61) is tokens.AckRefusal.EXPIRED
    assert tokens.verify("another-secret-entirely", token, time.time()) is tokens.AckRefusal.FORGED
    body, signature = token.split(".")
    assert tokens.verify(SECRET, body[:-2] + "AA." + signature, time.time()) is tokens.AckRefusal.FORGED
    for junk in ("", ".", "a.b.c", "é.é", "x" * 700, "\udcff.x"):
        assert tokens.verify(SECRET, junk, time.time()) in (tokens.AckRefusal.MALFORMED, tokens.AckRefusal.FORGED)
