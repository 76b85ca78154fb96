"""The staffing note of `require_training_days`: staffing someone who has not practised the role lately says so.

A role may set `require_training_days: N`. When a plan staffs a person into such a role (the
rules' staffing or a hand-off) and the training record has no drill of theirs in that role
within N days, the comment that staffs them gains a visible note. It is a note, never a
refusal: a real incident still gets its on-call person. Planning is pure, so this runs in the
job between planning and applying (like `worker.similar`), reading the index; no index, or one
that cannot be read, means no note, never a failed delivery. A drill gets no note: it is the
practice. The store's modules are imported only by plans that staff such a role.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..plan import Action, Plan, PostNote, Remember
from ..rules.drills import is_drill
from ..text import mention, neutralise_line
from .executor import label_change
from .index import index_guard

if TYPE_CHECKING:
    from ..incident import IncidentState
    from ..rules import RuleSet
    from .delivery import Delivery
    from .index import DeliveryIndex

RULE = "training-note"
NOTE = "*Training*: {who} has not practised {role} in a drill in the last {days} days (last: {last})."


def newly_staffed(plan: Plan, state: IncidentState) -> list[tuple[str, str]]:
    """(role, username) the plan staffs: the memory of who is staffed, before and after the plan."""
    before = state.memory.get("staffed")
    before = before if isinstance(before, dict) else {}
    after = before
    for action in plan.of(Remember):
        if action.key == "staffed" and isinstance(action.value, dict):
            after = action.value
    return [(str(role), str(user)) for role, user in after.items() if before.get(role) != user]


def with_training_note(plan: Plan, delivery: Delivery, state: IncidentState, index: DeliveryIndex | None) -> Plan:
    """The plan with a note under each staffing of a person who has not practised that role within its days."""
    rules = delivery.rules
    wanted = [(role, user) for role, user in newly_staffed(plan, state) if _days(rules, role)]
    if not wanted or index is None:
        return plan
    change = label_change(plan, state.labels)
    if is_drill((set(state.labels) | set(change.add)) - set(change.remove), rules):
        return plan
    store = index.store(rules, delivery.bot_username)
    if store is None:
        return plan
    from ..store.training import last_practised  # as the module says: only plans staffing such a role load it

    now = delivery.clock()
    actions = list(plan.actions)
    for role, user in wanted:
        days = _days(rules, role)
        with index_guard(delivery.log, "training record not read for the staffing note") as read:
            last = last_practised(store.engine, user, role)
        if read.failed:  # no note
            return plan
        if last is not None and last >= now - timedelta(days=days):
            continue
        _add_note(actions, rules, role, user, NOTE.format(**_words(rules, role, user, days, last)))
    return replace(plan, actions=tuple(actions))


def _days(rules: RuleSet, role: str) -> int:
    found = rules.roles.get(role)
    return int(found.require_training_days or 0) if found is not None else 0


def _words(rules: RuleSet, role: str, user: str, days: int, last: datetime | None) -> dict[str, str]:
    return {
        "who": mention(user),
        "role": f"**{neutralise_line(rules.roles[role].title)}**",
        "days": str(days),
        "last": f"{last:%Y-%m-%d}" if last is not None else "never",
    }


def _add_note(actions: list[Action], rules: RuleSet, role: str, user: str, note: str) -> None:
    """Under the section that staffs them (it names the role and the person), else as a section of its own."""
    title, who = f"**{rules.roles[role].title}**", mention(user)
    for i, action in enumerate(actions):
        if isinstance(action, PostNote) and title in action.body and who in action.body:
            actions[i] = replace(action, body=f"{action.body}\n\n{note}")
            return
    actions.append(PostNote(RULE, note))
