"""What the planner's `finish` adds once every step ran: the parts that need I/O, and the incident after the plan.

Planning is pure, so what the index must say is planned as typed parts (`service.parts`) for the
worker's enrichers: a declaration's recent changes and similar past incidents, and the training note under each
staffing of a role with `require_training_days`. `after` is the incident as the plan leaves it
(labels, assignees, memory, state), read off the Draft once, for every consumer of the plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..parts import OpenFollowUpsPart, Piece, SimilarPart, SuspectsPart, TrainingNote
from ..plan import Action, After, Assign, CloseIssue, PostNote, Unassign
from ..rules.drills import is_drill
from ..text import mention

if TYPE_CHECKING:
    from .draft import Draft

SIMILAR_RULE = "similar-incidents"  # a declaration's section of past incidents
SUSPECTS_RULE = "recent-changes"  # a declaration's section of the changes shortly before it started
FOLLOW_UPS_RULE = "open-corrective-actions"  # a declaration's section of earlier incidents' open follow-ups
TRAINING_RULE = "training-note"  # a training note with no staffing section to sit under


def similar_section(d: Draft, notes: list[PostNote]) -> list[PostNote]:
    """A declaration (memory `declared` for the first time) lists the recent changes (suspects) and past incidents,
    unless it replies with them, and the open follow-ups of earlier incidents in its area or category."""
    declaring = not d.state.memory.get("declared") and d.memory.get("declared")

    def replying(kind: type) -> bool:
        return any(isinstance(p, kind) for note in notes for p in note.parts)

    changes = [PostNote(SUSPECTS_RULE, (SuspectsPart(reply=False),))] if not replying(SuspectsPart) else []
    similar = [PostNote(SIMILAR_RULE, (SimilarPart(reply=False),))] if not replying(SimilarPart) else []
    if not declaring:
        return []
    # Memory for the next incident (issue 20): what earlier incidents here promised and have not done yet.
    return [*changes, *similar, PostNote(FOLLOW_UPS_RULE, (OpenFollowUpsPart(),))]


def newly_staffed(d: Draft) -> list[tuple[str, str]]:
    """(role, username) the plan staffs: who is staffed in the memory, before and after the plan."""
    before = d.state.memory.get("staffed")
    before = before if isinstance(before, dict) else {}
    after = d.memory.get("staffed")
    after = after if isinstance(after, dict) and after != before else before
    return [(str(role), str(user)) for role, user in after.items() if before.get(role) != user]


def training_notes(d: Draft, notes: list[PostNote]) -> list[PostNote]:
    """Each staffing of a role that requires practice gets a `TrainingNote` (a drill gets none: it is the practice).

    The note goes under the section that staffs them (it names the role and the person), else in a section
    of its own; the notes changed in place, the new sections returned.
    """
    rules, added = d.rules, list[PostNote]()
    if is_drill(d.labels, rules):
        return []
    for role, user in newly_staffed(d):
        found = rules.roles.get(role)
        days = int(found.require_training_days or 0) if found is not None else 0
        if not days:
            continue
        part = TrainingNote(role, user, days)
        title, who = f"**{rules.roles[role].title}**", mention(user)
        for i, note in enumerate([*notes, *added]):
            text = "".join(p for p in note.parts if isinstance(p, str))
            if title in text and who in text:
                _append(notes, added, i, part)
                break
        else:
            added.append(PostNote(TRAINING_RULE, (part,)))
    return added


def _append(notes: list[PostNote], added: list[PostNote], i: int, part: TrainingNote) -> None:
    into = notes if i < len(notes) else added
    j = i if i < len(notes) else i - len(notes)
    parts: tuple[Piece, ...] = (*into[j].parts, part)
    into[j] = PostNote(into[j].rule, parts)


def after(d: Draft, actions: list[Action]) -> After:
    """The incident as the plan leaves it: the Draft's labels and memory, the assignees and state its actions set."""
    assignees = list(d.state.issue.assignees)
    for action in actions:
        if isinstance(action, Assign):
            assignees += [u for u in action.usernames if u not in assignees]
        elif isinstance(action, Unassign):
            assignees = [u for u in assignees if u not in action.usernames]
    closing = any(isinstance(a, CloseIssue) for a in actions)
    return After(frozenset(d.labels), d.memory, tuple(assignees), "closed" if closing else d.state.issue.state)
