"""`doctor`'s paging rows: every contact of `rules/paging.yml`, one row each, and whether links are on.

A contact is usable when its channel is declared, the channel's variable is set and its value is what the worker
would send to (the same `notify.channels.resolve` the page job uses), or, for `email:ADDRESS`, when the address
and the SMTP settings are. A contact whose variable is unset is a warning while its person has another usable
contact, a failure when that person could then be paged by the mention in the issue only.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from ..notify.channels import ChannelConfigError, SmtpSettings, resolve
from ..paging.settings import PagingSettings
from ..rules import Channel, ChannelKind, RuleSet
from ..rules.paging import split
from .table import Row, Status

WHAT = "contact"
ADDRESS_ENV = "the address"  # how a problem with an `email:` contact's address names it


def _contact(rules: RuleSet, contact: str, env: Mapping[str, str]) -> tuple[Status, str]:
    """Whether one contact can be reached: ok, warn (its variable unset), fail (undeclared or malformed)."""
    kind, name = split(contact)
    try:
        if kind == "email":
            smtp = SmtpSettings.from_env(env)
            resolve(Channel("email", ChannelKind.EMAIL, ADDRESS_ENV), {ADDRESS_ENV: f"mailto:{name}"})
            return Status.OK, f"e-mail through {smtp.host}:{smtp.port} (INCIDENT_BOT_SMTP_HOST)"
        channel = rules.channels.get(name)
        if channel is None:
            return Status.FAIL, f"channel {name!r} is not declared under channels:"
        if resolve(channel, env) is None:
            return Status.WARN, f"{channel.target_env} is unset: pages through channel {name} are skipped"
        return Status.OK, f"{channel.kind} target set ({channel.target_env})"
    except ChannelConfigError as exc:
        return Status.FAIL, str(exc)


def check_contacts(rules: RuleSet, env: Mapping[str, str]) -> list[Row]:
    """One row per contact of every person in `paging.contacts`, and the acknowledgement links' settings."""
    if not rules.paging.enabled:
        return []
    rows = [_links(env)]
    for person, contacts in rules.paging.contacts.items():
        found = [(contact, *_contact(rules, contact, env)) for contact in contacts]
        none_usable = all(status != Status.OK for _, status, _ in found)
        for contact, status, detail in found:
            if status == Status.WARN and none_usable:
                status, detail = Status.FAIL, f"{detail}; @{person} has no usable contact: paged by mention only"
            rows.append(Row(WHAT, f"@{person} {contact}", status, detail))
    return rows


def _links(env: Mapping[str, str]) -> Row:
    try:
        settings = PagingSettings.from_env(env)
    except ConfigError as exc:
        return Row("paging", "ack links", Status.FAIL, str(exc))
    if not settings.links:
        detail = "off: set INCIDENT_BOT_PUBLIC_URL and INCIDENT_BOT_ACK_SECRET for links in pages (`ack` works)"
        return Row("paging", "ack links", Status.WARN, detail)
    return Row("paging", "ack links", Status.OK, f"on: {settings.public_url}/ack/...")
