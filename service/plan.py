"""What the bot decided to do for one delivery: inert, frozen actions, each naming its rule.

A plan is the whole story of a delivery: its actions, the incident as it leaves it (`After`), and the
pieces of its text that need I/O (`Part`s: the timeline, similar incidents, a scorecard, the review
and drill links, a training note). A comment or a review's description is a sequence of plain text
and parts; the worker's enrichers (`service.worker.enrich`) fill each part, and the text can be
rendered only once every part is filled (`Unfilled` otherwise). `preview` shows it as planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, cast

from .parts import Composed, Filled, Part, Piece

if TYPE_CHECKING:
    from .incident import IncidentState


@dataclass(frozen=True)
class Action:
    """Base of every planned action; `rule` names the rule that produced it."""

    rule: str


@dataclass(frozen=True)
class AddLabels(Action):
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RemoveLabels(Action):
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Assign(Action):
    """Add these people to the issue's assignees (never removes anyone)."""

    usernames: tuple[str, ...]


@dataclass(frozen=True)
class Unassign(Action):
    """Remove these people from the issue's assignees (a hand-off)."""

    usernames: tuple[str, ...]


@dataclass(frozen=True)
class PostNote(Composed, Action):
    """A section of the bot's single comment for this delivery: text and deferred parts."""

    parts: tuple[Piece, ...]

    @property
    def body(self) -> str:
        """The section's text; raises `Unfilled` while a part waits for its enricher."""
        return self.text


@dataclass(frozen=True)
class Remember(Action):
    """Update the bot's memory of the incident (kept in GitLab, in its own notes)."""

    key: str
    value: Any


@dataclass(frozen=True)
class SetNativeSeverity(Action):
    """Make GitLab's own severity field follow the label (GraphQL issueSetSeverity)."""

    severity: str  # CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN


@dataclass(frozen=True)
class CloseIssue(Action):
    pass


@dataclass(frozen=True)
class OpenReview(Composed, Action):
    """Open a linked post-incident review issue; its description (`parts`) ends with the timeline's part."""

    title: str
    parts: tuple[Piece, ...]
    labels: tuple[str, ...] = ()
    SHOWN_AS: ClassVar[str] = "description"

    @property
    def description(self) -> str:
        """The description; raises `Unfilled` while the timeline waits for its enricher."""
        return self.text


@dataclass(frozen=True)
class ConfideReview(Action):
    """Make the incident's review issue confidential: the incident became confidential after it was opened."""

    iid: int


@dataclass(frozen=True)
class OpenDrill(Action):
    """Open a drill's issue in this project (the `drill` command); the reply links it with a `DrillLink`."""

    scenario: str
    title: str
    description: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleInjects(Action):
    """A drill was declared: post each inject (minutes from now, text) as a comment while the drill is open."""

    scenario: str
    injects: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class OpenFollowUp(Action):
    """Open a follow-up issue (`follow-up <title>`), labelled and linked to the incident and its review.

    `severity` is the incident's severity as planned (the due date's default when `due_on` is None);
    `from_review`: asked in the review issue, whose incident the executor finds through its links.
    """

    title: str
    owner: str | None = None
    due_on: date | None = None
    severity: int | None = None
    from_review: bool = False


@dataclass(frozen=True)
class AdoptFollowUp(Action):
    """Make an existing issue a follow-up of the incident (`follow-up #123`): the label, a link, tracked."""

    project: str | None  # a path; None: the project of the issue the command came in
    iid: int
    from_review: bool = False


@dataclass(frozen=True)
class TrackFollowUp(Action):
    """This delivery's issue is (or was, `dropped`) a follow-up: read it, keep it in the index, refresh lists."""

    dropped: bool = False


@dataclass(frozen=True)
class Notify(Action):
    """Tell a channel about the incident; delivered by its own RQ job.

    The planner fills in the incident as the plan leaves it (severity, phase,
    roles, what changed), so the message needs no GitLab read to be complete.
    """

    channel: str
    message: str  # message kind: declared, escalated, deescalated, phase, handoff, status_update, resolved, page
    change: str = ""
    text: str = ""
    severity: int | None = None
    phase: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    severity_name: str = ""  # the rules' name for `severity` (`critical`): messages show what the rules call it


@dataclass(frozen=True)
class ScheduleReminder(Action):
    """Remind the owner of status updates every `minutes`; a newer reminder replaces older ones."""

    minutes: float
    roles: tuple[str, ...]  # the first of these that is staffed owns the updates


@dataclass(frozen=True)
class After:
    """The incident as the plan leaves it, worked out once by the planner from its Draft.

    `assignees`: the usernames assigned once the plan's Assign/Unassign apply (a name GitLab does not
    know is left out by the executor). `memory` is the bot's memory before the executor records the
    delivery itself (and the review it opened).
    """

    labels: frozenset[str]
    memory: Mapping[str, Any]
    assignees: tuple[str, ...]
    state: str  # opened, closed

    @staticmethod
    def unchanged(state: IncidentState) -> After:
        """The incident as it is: what a plan that changes nothing leaves."""
        return After(state.labels, state.memory, state.issue.assignees, state.issue.state)


@dataclass(frozen=True)
class SendPage(Action):
    """Page one person (`person`, a username) or a channel (`person` empty) through one contact; its own RQ job.

    `contact` is `channel:NAME` or `email:ADDRESS`; a person's page carries a signed acknowledgement link.
    """

    page: str  # the page's id (service.handlers.paging)
    step: int  # the level paged, counted across runs of the levels (0-based)
    person: str
    contact: str
    severity: int | None = None
    severity_name: str = ""


@dataclass(frozen=True)
class SchedulePageStep(Action):
    """Page step `step` of page `page` in `minutes` (paging minutes), unless acknowledged by then; its own RQ job."""

    page: str
    step: int
    minutes: float


@dataclass(frozen=True)
class AcknowledgePage(Action):
    """`person` acknowledged page `page` (by `via`: comment or link): the incident's acknowledged time in the index."""

    page: str
    person: str
    via: str
    at: str = ""  # when (ISO 8601 UTC), as the page's record in the memory says: reindex reads the same


@dataclass(frozen=True)
class Plan:
    """One consolidated plan for one delivery: its actions and (`after`) the incident as it leaves it."""

    actions: tuple[Action, ...] = ()
    after: After | None = None

    def settled(self, state: IncidentState) -> After:
        """The incident after this plan (`state`'s own for a plan that does nothing)."""
        if self.after is not None:
            return self.after
        if self.actions:
            raise ValueError("a plan with actions carries the incident it leaves (Plan.after)")
        return After.unchanged(state)

    def of(self, kind: type[Action]) -> list[Any]:
        """The actions of one type, in order."""
        return [a for a in self.actions if isinstance(a, kind)]

    def parts(self, kind: type[Part] = Part) -> list[Any]:
        """The deferred parts of this kind in the plan's texts, filled or not, in order."""
        found = []
        for action in self.actions:
            for piece in action.parts if isinstance(action, Composed) else ():
                part = piece.part if isinstance(piece, Filled) else piece
                if isinstance(part, kind):
                    found.append(part)
        return found

    def unfilled(self, kind: type[Part] = Part) -> list[Any]:
        """The parts of this kind still waiting for their enricher."""
        return [p for a in self.actions if isinstance(a, Composed) for p in a.parts if isinstance(p, kind)]

    def fill(self, texts: Mapping[Part, str]) -> Plan:
        """The plan with each part in `texts` filled with its text (other parts untouched)."""
        actions = []
        for action in self.actions:
            if isinstance(action, Composed) and any(isinstance(p, Part) and p in texts for p in action.parts):
                pieces = tuple(Filled(p, texts[p]) if isinstance(p, Part) and p in texts else p for p in action.parts)
                action = replace(cast(Any, action), parts=pieces)
            actions.append(action)
        return replace(self, actions=tuple(actions))

    @property
    def empty(self) -> bool:
        return not self.actions

    def describe(self) -> list[str]:
        """One human line per action, for dry-run logs and `simulate`."""
        lines = []
        for action in self.actions:
            fields = {k: v for k, v in vars(action).items() if k != "rule"}
            if isinstance(action, Composed):  # planned text as it reads, each part by its preview
                fields = {(action.SHOWN_AS if k == "parts" else k): v for k, v in fields.items()}
                fields[action.SHOWN_AS] = action.preview
            shown = ", ".join(f"{k}={_short(v)}" for k, v in fields.items())
            lines.append(f"{type(action).__name__}({shown})  [rule: {action.rule}]")
        return lines


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
