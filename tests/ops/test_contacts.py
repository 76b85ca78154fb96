"""`doctor` checks every paging contact: its channel declared, its variable set, its value well formed; and links."""

from __future__ import annotations

from pathlib import Path

from service.ops.contacts import check_contacts
from service.ops.table import Row, Status
from service.rules import load_rules
from tests.paging.pagingrules import paging_rules
from tests.rulesdir import TEST_RULES

READY = {
    "INCIDENT_BOT_CHANNEL_PAGER_CAROL": "https://chat.example.com/hooks/carol",
    "INCIDENT_BOT_CHANNEL_PAGER_DAVE": "https://pager.example.com/dave",
    "INCIDENT_BOT_PAGER_SECRET": "pager-signing-secret",
    "INCIDENT_BOT_CHANNEL_PAGER_ALICE": "https://hooks.example.com/alice",
    "INCIDENT_BOT_CHANNEL_PAGER_BOB": "https://teams.example.com/bob",
    "INCIDENT_BOT_SMTP_HOST": "mail.example.com",
    "INCIDENT_BOT_PUBLIC_URL": "https://bot.example.com",
    "INCIDENT_BOT_ACK_SECRET": "a-long-enough-ack-secret",
}


def rows(tmp_path: Path, env: dict[str, str]) -> dict[str, Row]:
    return {r.name: r for r in check_contacts(load_rules(paging_rules(tmp_path)), env)}


def test_every_contact_ok_with_its_channel(tmp_path: Path) -> None:
    """One row per person and contact, each ok, naming the channel kind and its variable; links on."""
    found = rows(tmp_path, READY)
    assert set(found) == {
        "ack links",
        "@eoc-carol channel:pager-carol",
        "@eoc-carol email:carol@example.com",
        "@eoc-dave channel:pager-dave",
        "@im-alice channel:pager-alice",
        "@im-bob channel:pager-bob",
    }
    assert all(r.status == Status.OK for r in found.values()), found
    assert found["@eoc-carol channel:pager-carol"].detail == "mattermost target set (INCIDENT_BOT_CHANNEL_PAGER_CAROL)"
    assert found["@eoc-carol email:carol@example.com"].detail.startswith("e-mail through mail.example.com:25")
    assert found["ack links"].detail == "on: https://bot.example.com/ack/..."


def test_unset_warns_while_another_contact_works_and_fails_when_none_does(tmp_path: Path) -> None:
    """Carol keeps her e-mail: a warning; Dave's only contact unset: a failure that says he is paged by mention."""
    env = {
        k: v
        for k, v in READY.items()
        if k not in ("INCIDENT_BOT_CHANNEL_PAGER_CAROL", "INCIDENT_BOT_CHANNEL_PAGER_DAVE")
    }
    found = rows(tmp_path, env)
    carol = found["@eoc-carol channel:pager-carol"]
    assert carol.status == Status.WARN and "INCIDENT_BOT_CHANNEL_PAGER_CAROL is unset" in carol.detail
    dave = found["@eoc-dave channel:pager-dave"]
    assert dave.status == Status.FAIL and "@eoc-dave has no usable contact: paged by mention only" in dave.detail


def test_malformed_targets_fail_without_showing_them(tmp_path: Path) -> None:
    """A target the page job would refuse fails here first; the value (a credential) is never shown."""
    env = {
        **READY,
        "INCIDENT_BOT_CHANNEL_PAGER_BOB": "ftp://secret-path",
        "INCIDENT_BOT_PAGER_SECRET": "",
        "INCIDENT_BOT_SMTP_PORT": "nope",
        "INCIDENT_BOT_ACK_SECRET": "short",
    }
    found = rows(tmp_path, env)
    bob = found["@im-bob channel:pager-bob"]
    assert bob.status == Status.FAIL and "must be an http(s) URL" in bob.detail and "secret-path" not in bob.detail
    dave = found["@eoc-dave channel:pager-dave"]
    assert dave.status == Status.FAIL and "INCIDENT_BOT_PAGER_SECRET" in dave.detail
    mail = found["@eoc-carol email:carol@example.com"]
    assert mail.status == Status.FAIL and "INCIDENT_BOT_SMTP_PORT" in mail.detail
    assert found["ack links"].status == Status.FAIL and "at least 16 characters" in found["ack links"].detail


def test_links_off_warns_and_rules_without_paging_add_no_row(tmp_path: Path) -> None:
    """Links off is a warning saying how to turn them on; rules without paging: no paging rows at all."""
    env = {k: v for k, v in READY.items() if k != "INCIDENT_BOT_ACK_SECRET"}
    assert rows(tmp_path, env)["ack links"].status == Status.WARN
    assert check_contacts(load_rules(TEST_RULES), READY) == []
