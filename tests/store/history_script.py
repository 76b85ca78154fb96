"""One scripted history of incidents, played as deliveries to the bot and kept by the fake GitLab.

Covers: an incident opened with the label, one opened as a plain issue and declared
later, one of type Incident without the label, escalation and de-escalation,
phases moved by people and by closing, a review issue, a reopening, comments by the
author, by others and by GitLab itself, a status update, a drill, a confidential one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.store.played import PlayedBot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
P, Q = 1, 2  # projects shop/checkout and ops/db


def t(minutes: float) -> datetime:
    """A time `minutes` after T0 (whole seconds, as GitLab's hook timestamps)."""
    return T0 + timedelta(minutes=minutes)


def play(bot: PlayedBot) -> None:
    """Play the whole history: each person's action is delivered to the bot at once."""
    h = bot.history
    # 1: opened as an incident; the bot defaults severity 3; escalated to 1, acknowledged by a comment,
    # mitigated, closed (post-incident + review), reopened, closed again.
    a = (P, 1)
    bot.deliver(h.open(a, t(0), "alice", ["incident"], title="Checkout down"), t(0))
    bot.deliver(h.comment(a, t(2), "alice", "Still broken for me"), t(2))  # the author: not an acknowledgement
    bot.deliver(h.label(a, t(3), "bob", add=["severity::1"], remove=["severity::3"]), t(3))
    bot.deliver(h.comment(a, t(5), "bob", "Looking at it"), t(5))
    h.system_note(a, t(6), "bob", "assigned to @bob")
    bot.deliver(h.comment(a, t(8), "bob", "@incident-bot update payments failing over"), t(8))
    bot.deliver(h.label(a, t(10), "bob", add=["incident::mitigation"], remove=["incident::identification"]), t(10))
    bot.deliver(h.label(a, t(30), "bob", add=["incident::remediation"], remove=["incident::mitigation"]), t(30))
    bot.deliver(h.close(a, t(90), "bob"), t(90))
    bot.deliver(h.reopen(a, t(100), "alice"), t(100))
    bot.deliver(h.close(a, t(130), "bob"), t(130))
    # 2: a plain issue declared an incident 20 minutes later by its author, at severity 2; de-escalated to 4.
    b = (P, 2)
    bot.deliver(h.open(b, t(60), "carol", [], title="Slow search"), t(60))
    bot.deliver(h.label(b, t(80), "carol", add=["incident", "severity::2"]), t(80))
    bot.deliver(h.label(b, t(95), "dave", add=["incident::mitigation"], remove=["incident::identification"]), t(95))
    bot.deliver(h.label(b, t(99), "dave", add=["severity::4"], remove=["severity::2"]), t(99))
    # 3: type Incident without the label, confidential, security; acknowledged by the phase set by a person.
    c = (Q, 1)
    bot.deliver(
        h.open(
            c,
            t(200),
            "erin",
            ["incident-category::security"],
            issue_type="incident",
            confidential=True,
            title="Leaked key",
            path="ops/db",
        ),
        t(200),
    )
    bot.deliver(h.label(c, t(215), "dave", add=["incident::remediation"], remove=["incident::identification"]), t(215))
    # 4: a drill, closed quickly.
    d = (Q, 2)
    bot.deliver(
        h.open(d, t(300), "alice", ["incident", "drill", "severity::2"], title="Drill: DB failover", path="ops/db"),
        t(300),
    )
    bot.deliver(h.comment(d, t(301), "bob", "on it"), t(301))
    bot.deliver(h.close(d, t(320), "bob"), t(320))
    # 5..9: a run of small incidents so listings and event lists span several pages.
    for n in range(5, 10):
        k = (P, n)
        bot.deliver(
            h.open(k, t(400 + n), "dave", ["incident", f"severity::{n % 4 + 1}"], title=f"Blip {n}"), t(400 + n)
        )
        bot.deliver(h.comment(k, t(410 + n), "erin", "seen"), t(410 + n))
        if n % 2:
            bot.deliver(h.close(k, t(450 + n), "erin"), t(450 + n))
