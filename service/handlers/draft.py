"""The Draft: the incident as this delivery's plan would leave it, changed only through its methods.

Steps (builtin, commands, the rules engine) call `set_severity`, `add_labels`, `post`,
`open_review` ... and never reach into what the Draft records for the plan (its
actions, its summary lines, its change counter): `service.handlers.planner.finish`
reads those once all steps ran.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..events import Event
from ..incident import IncidentState, Issue
from ..parts import Piece, ReviewLink
from ..plan import (
    AcknowledgePage,
    Action,
    AddLabels,
    Assign,
    CloseIssue,
    ConfideReview,
    OpenDrill,
    OpenReview,
    RemoveLabels,
    ScheduleInjects,
    SchedulePageStep,
    ScheduleReminder,
    SendPage,
    Unassign,
)
from ..rules.facts import LevelsFromLabels

if TYPE_CHECKING:
    import jinja2

    from ..rules import RuleSet
    from ..rules.model import Area

# Note sections, in the order they appear in the bot's comment.
SUMMARY, REPLY, POST, ROLES, CHECKLIST = 0, 5, 10, 20, 30
TIMELINE_LIMIT = 200
DEFAULT_BOT = "incident-bot"


@dataclass(frozen=True)
class Section:
    """A piece of the delivery's comment (text and deferred parts); a template is rendered when the plan is complete."""

    order: int
    rule: str
    body: tuple[Piece, ...] = ()
    template: Any = None


class Draft(LevelsFromLabels):
    """The incident as this plan would leave it; the only mutable thing during planning.

    `bot` is the bot's username and `access` the author's access level (known only when
    the author addresses the bot): facts of the delivery, given by the planner's caller.
    """

    def __init__(
        self,
        event: Event,
        state: IncidentState,
        rules: RuleSet,
        now: datetime,
        *,
        bot: str = DEFAULT_BOT,
        access: int | None = None,
    ):
        self.event: Event = event
        self.state: IncidentState = state
        self.issue: Issue = state.issue
        self.rules = rules
        self.now = now
        self.bot = bot
        self.access = access
        self.labels: set[str] = set(state.labels)
        self.memory: dict[str, Any] = copy.deepcopy(state.memory)
        self.sections: list[Section] = []
        self.closing = event.action == "close" or state.issue.state == "closed"
        self.changes: list[str] = []  # this delivery's timeline entries: the "what changed" of messages
        self.notifications: list[tuple[str, str, str, str]] = []  # (channel, message, rule, text)
        self.review_template: jinja2.Template | None = None  # rendered into the review's description
        self._actions: list[Action] = []
        self._did: list[tuple[str, str]] = []  # (what, rule) for the summary
        self._version = 0  # bumped by every change: the rules engine re-checks rules while it moves
        self._checklists: set[str] = set()

    # What the plan records (read by the planner's `finish`).
    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(self._actions)

    @property
    def did(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._did)

    @property
    def version(self) -> int:
        return self._version

    # What the incident is now.
    def before(self, key: str) -> Any:
        return self.state.memory.get(key)

    def issue_state(self) -> str:
        return "closed" if self.closing else "opened"

    def areas(self) -> list[tuple[Area, str]]:
        """The functional areas the incident belongs to, with why: those matching now, and those applied before."""
        e = self.event
        found = self.rules.areas_for(self.category(), self.labels, e.project_path or "", self.issue.title)
        matched = {area.name for area, _ in found}
        earlier = [n for n in self.memory.get("areas", []) if n in self.rules.areas and n not in matched]
        return [*found, *((self.rules.areas[n], "applied earlier") for n in earlier)]

    # Changes.
    def _labels(self, add: set[str], remove: set[str], rule: str) -> bool:
        add, remove = add - self.labels, remove & self.labels
        if not add and not remove:
            return False
        if add:
            self._actions.append(AddLabels(rule, tuple(sorted(add))))
        if remove:
            self._actions.append(RemoveLabels(rule, tuple(sorted(remove))))
        self.labels = (self.labels | add) - remove
        self._version += 1
        return True

    def add_labels(self, labels: set[str], rule: str) -> None:
        if self._labels(set(labels), set(), rule):
            self._did.append((f"added {_codes(labels)}", rule))

    def remove_labels(self, labels: set[str], rule: str, *, why: str | None = None) -> None:
        """Remove labels; `why` replaces the summary line (`kept ... : an incident has one severity`)."""
        present = set(labels) & self.labels
        if self._labels(set(), set(labels), rule):
            self._did.append((why or f"removed {_codes(present)}", rule))

    def set_exclusive(self, label: str, scope: set[str], rule: str, what: str) -> None:
        """Make `label` the one label of its scope."""
        others = (scope - {label}) & self.labels
        if self._labels({label}, others, rule):
            self._did.append((f"set {what} `{label}`" + (f" (removed {_codes(others)})" if others else ""), rule))

    def set_severity(self, level: int, rule: str) -> None:
        """Make severity `level` the incident's one severity label."""
        self.set_exclusive(self.rules.severities[level].label, set(self.rules.severity_labels), rule, "severity")

    def set_phase(self, name: str, rule: str) -> None:
        """Move the incident to phase `name` (its one phase label)."""
        phase = self.rules.phase(name)
        assert phase is not None, name  # checked at load (rules) or by the command
        self.set_exclusive(phase.label, {p.label for p in self.rules.phases}, rule, "phase")

    def set_category(self, name: str, rule: str) -> None:
        """Make `name` the incident's one category label."""
        scope = {c.label for c in self.rules.categories.values()}
        self.set_exclusive(self.rules.categories[name].label, scope, rule, "category")

    def assign(self, username: str, rule: str) -> None:
        self._actions.append(Assign(rule, (username,)))
        self._version += 1

    def unassign(self, username: str, rule: str) -> None:
        self._actions.append(Unassign(rule, (username,)))
        self._version += 1

    def close(self, rule: str) -> None:
        """Close the issue."""
        self._actions.append(CloseIssue(rule))

    def schedule_reminder(self, minutes: float, roles: tuple[str, ...], rule: str) -> None:
        """Remind the owner of status updates every `minutes` (a newer series replaces older ones)."""
        self._actions.append(ScheduleReminder(rule, float(minutes), roles))

    def confide_review(self, iid: int, rule: str) -> None:
        """Make the review issue confidential, as its incident now is (the review carries its title and timeline)."""
        self._actions.append(ConfideReview(rule, iid))
        self._version += 1

    def open_review(self, title: str, labels: tuple[str, ...], template: jinja2.Template | None, rule: str) -> None:
        """Open the post-incident review issue and say so in this delivery's comment."""
        self.review_template = template
        self._actions.append(OpenReview(rule, title, (), labels))  # its description: the planner's `finish`
        self.post(POST, ("Post-incident review opened: ", ReviewLink()), rule)
        self._version += 1

    def open_drill(self, scenario: str, title: str, description: str, labels: tuple[str, ...], rule: str) -> None:
        """Open a drill's issue in this project (one per delivery)."""
        if not any(isinstance(a, OpenDrill) for a in self._actions):
            self._actions.append(OpenDrill(rule, scenario, title, description, labels))
            self._version += 1

    def follow_up(self, action: Action) -> None:
        """Open or adopt a follow-up (an OpenFollowUp or AdoptFollowUp: the executor replies once it exists)."""
        self._actions.append(action)
        self._version += 1

    def record_cause(self, action: Action) -> None:
        """Record or clear the incident's cause (a RecordCause: the worker writes the index and confirms)."""
        self._actions.append(action)
        self._version += 1

    def silence(self, action: Action) -> None:
        """Silence an alert incident's group, unsilence it, or expire its silences (service.handlers.silences)."""
        self._actions.append(action)
        self._version += 1

    def schedule_injects(self, scenario: str, injects: tuple[tuple[float, str], ...], rule: str) -> None:
        """Post a drill's injects (minutes from now, text) as they fall due."""
        self._actions.append(ScheduleInjects(rule, scenario, injects))
        self._version += 1

    def page(self, action: SendPage | SchedulePageStep | AcknowledgePage) -> None:
        """A paging action (service.handlers.paging): a page sent, the next step scheduled, an acknowledgement."""
        self._actions.append(action)
        self._version += 1

    def route_notifications(self, channel: str | None, rule: str) -> None:
        """Send every notification of this delivery to `channel` instead (once per message); None drops them all."""
        routed: list[tuple[str, str, str, str]] = []
        for _, message, _, text in self.notifications:
            if channel is not None and not any(m == message for _, m, _, _ in routed):
                routed.append((channel, message, rule, text))
        self.notifications[:] = routed

    def post(self, order: int, body: str | tuple[Piece, ...], rule: str) -> None:
        """A section: text, or text with deferred parts the worker fills (`service.parts`)."""
        parts = (body.strip(),) if isinstance(body, str) else body
        if parts and parts != ("",):
            self.sections.append(Section(order, rule, parts))
            self._version += 1

    def post_template(self, order: int, template: Any, rule: str) -> None:
        """Post a template rendered against the finished draft, so it shows the final severity and roles."""
        self.sections.append(Section(order, rule, template=template))
        self._version += 1

    def notify(self, channel: str, message: str, rule: str, text: str = "") -> None:
        """Tell a channel, once per delivery; the message is completed when the plan is."""
        if not any(c == channel and m == message for c, m, _, _ in self.notifications):
            self.notifications.append((channel, message, rule, text))
            self._version += 1

    def claim_checklist(self, phase: str) -> bool:
        """True the first time this delivery posts `phase`'s checklist (one per phase per delivery)."""
        if phase in self._checklists:
            return False
        self._checklists.add(phase)
        return True

    def remember(self, key: str, value: Any) -> None:
        if self.memory.get(key) != value:
            self.memory[key] = value
            self._version += 1

    def timeline(self, what: str, first: bool = False) -> None:
        """Add to the incident's timeline; `first` puts it before this delivery's other entries."""
        entries = list(self.memory.get("timeline", []))
        entry = {"at": self.now.strftime("%Y-%m-%d %H:%M UTC"), "what": what}
        self.changes.insert(0, what) if first else self.changes.append(what)
        if first:
            entries.insert(len(self.state.memory.get("timeline", [])), entry)
        else:
            entries.append(entry)
        self.memory["timeline"] = entries[-TIMELINE_LIMIT:]


def _codes(labels: set[str] | frozenset[str]) -> str:
    return ", ".join(f"`{label}`" for label in sorted(labels))
