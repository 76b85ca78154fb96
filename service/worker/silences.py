"""Silences in the executor (issue 18): the `silence` and `unsilence` commands and an alert incident's close,
carried out against Alertmanager (`service.alerts.alertmanager`), each returning the reply it adds to the
delivery's one note. The ids of the silences the bot made live in Redis beside the group's record
(`GroupStore.silences`), so closing the incident finds them. Alertmanager trouble is said in the reply (and
logged); it never fails the delivery: the command can be given again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..alerts.actions import ExpireAlertSilences, SilenceAlertGroup, UnsilenceAlertGroup
from ..alerts.alertmanager import Alertmanager, AlertmanagerError
from ..alerts.grouping import GroupRecord, GroupStore
from ..plan import Plan
from ..text import neutralise_line

if TYPE_CHECKING:
    from .delivery import Delivery

NO_URL = "Silences need `INCIDENT_BOT_ALERTMANAGER_URL` set on the bot's worker; none is, so nothing was silenced."
NO_RECORD = "The bot keeps no record of this incident's alert group any more, so it cannot tell what to silence."
NOT_THIS_INCIDENT = (
    "This is not the incident of the alert group its description names (the description's marker was changed, "
    "or the group has a newer incident), so the bot changed no silence."
)


def apply_silences(plan: Plan, delivery: Delivery, body: str) -> str:
    """Carry out the plan's silence actions; the delivery's note with their replies added."""
    replies: list[str] = []
    actions = [*plan.of(SilenceAlertGroup)[:1], *plan.of(UnsilenceAlertGroup)[:1], *plan.of(ExpireAlertSilences)[:1]]
    if not actions:
        return body
    if delivery.redis is None:
        return body
    store = GroupStore(delivery.redis, delivery.keys)
    manager = Alertmanager(delivery.alertmanager_url) if delivery.alertmanager_url else None
    for action in actions:
        if manager is not None and not belongs(store.get(action.group_id), delivery):
            # The marker is in a description people edit: another group's pasted there acts on nothing, and the
            # reply names nothing of that group (its labels may be a confidential incident's, in another project).
            delivery.log.warning("silence refused: the description's alert group is not this incident's")
            replies.append("" if isinstance(action, ExpireAlertSilences) else NOT_THIS_INCIDENT)
        elif isinstance(action, SilenceAlertGroup):
            replies.append(silence(action, store, manager, delivery))
        elif isinstance(action, UnsilenceAlertGroup):
            replies.append(unsilence(action.group_id, store, manager, delivery, quiet=False))
        elif isinstance(action, ExpireAlertSilences) and manager is not None:
            replies.append(unsilence(action.group_id, store, manager, delivery, quiet=True))
    return "\n\n".join(part for part in (body, *replies) if part)


def belongs(record: GroupRecord | None, delivery: Delivery) -> bool:
    """Whether the group's record has this delivery's issue as its incident (no record: nothing to act on, said
    by the action itself)."""
    if record is None:
        return True
    return (record.project_id, record.iid) == (delivery.event.project_id, delivery.event.iid)


def labels_of(record: GroupRecord) -> dict[str, str]:
    """The group's labels; for a record kept before they were, the labels every alert of the group shares."""
    if record.labels:
        return dict(record.labels)
    alerts = [dict(a.get("labels") or {}) for a in record.alerts.values()]
    common = alerts[0] if alerts else {}
    return {k: v for k, v in common.items() if all(a.get(k) == v for a in alerts)}


def silence(action: SilenceAlertGroup, store: GroupStore, manager: Alertmanager | None, delivery: Delivery) -> str:
    if manager is None:
        return NO_URL
    record = store.get(action.group_id)
    labels = labels_of(record) if record is not None else {}
    if not labels:
        return NO_RECORD
    until = delivery.clock() + timedelta(seconds=action.seconds)
    try:
        made = manager.silence(labels, until, action.created_by, action.incident_url)
    except AlertmanagerError as exc:
        delivery.log.warning("silence not created: %s", exc)
        return "Alertmanager did not take the silence (see the bot's log); try again in a minute."
    store.add_silence(action.group_id, made)
    shown = ", ".join(f"`{neutralise_line(k)}={neutralise_line(v)}`" for k, v in sorted(labels.items()))
    return f"Silenced in Alertmanager until {_when(until)}: silence `{made}`, matching {shown}."


def unsilence(group_id: str, store: GroupStore, manager: Alertmanager | None, delivery: Delivery, quiet: bool) -> str:
    """Expire every silence the bot made for the group; a failure keeps its id for the next try."""
    if manager is None:
        return NO_URL
    made = store.silences(group_id)
    expired, failed = [], []
    for silence_id in made:
        try:
            manager.expire(silence_id)
        except AlertmanagerError as exc:
            delivery.log.warning("silence %s not expired: %s", silence_id, exc)
            failed.append(silence_id)
            continue
        store.drop_silence(group_id, silence_id)
        expired.append(silence_id)
    if quiet and not failed:
        return f"Silences expired as the incident closed: {_ids(expired)}." if expired else ""
    if not made:
        return "There is no silence the bot made for this incident to expire."
    said = f"Expired {_ids(expired)}." if expired else ""
    return said + (f" Alertmanager did not expire {_ids(failed)}; try `unsilence` again." if failed else "")


def _ids(ids: list[str]) -> str:
    return ", ".join(f"`{i}`" for i in ids) or "none"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
