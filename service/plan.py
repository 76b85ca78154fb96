"""What the bot decided to do for one delivery: inert, frozen actions, each naming its rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
class PostNote(Action):
    """A section of the bot's single comment for this delivery."""

    body: str


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
class OpenReview(Action):
    """Open a linked post-incident review issue."""

    title: str
    description: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfideReview(Action):
    """Make the incident's review issue confidential: the incident became confidential after it was opened."""

    iid: int


@dataclass(frozen=True)
class OpenDrill(Action):
    """Open a drill's issue in this project (the `drill` command); the reply links it at `{drill_url}`."""

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
    """One consolidated plan for one delivery."""

    actions: tuple[Action, ...] = ()

    def of(self, kind: type[Action]) -> list[Any]:
        """The actions of one type, in order."""
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def empty(self) -> bool:
        return not self.actions

    def describe(self) -> list[str]:
        """One human line per action, for dry-run logs and `simulate`."""
        lines = []
        for action in self.actions:
            fields = {k: v for k, v in vars(action).items() if k != "rule"}
            shown = ", ".join(f"{k}={_short(v)}" for k, v in fields.items())
            lines.append(f"{type(action).__name__}({shown})  [rule: {action.rule}]")
        return lines


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
