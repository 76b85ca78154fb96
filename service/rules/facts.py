"""What the rules read of an incident being planned: the facts conditions check and templates are rendered from.

The planner's `handlers.draft.Draft` has these; so has the load-time sample (`samples.SampleIncident`). The
rules layer names only this protocol, so it never imports the planning layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..events import Event
    from ..incident import Issue
    from .model import RuleSet


class Facts(Protocol):
    """What conditions (`when`) read: the delivery, the issue, the labels and memory as the plan stands."""

    @property
    def event(self) -> Event: ...

    @property
    def issue(self) -> Issue: ...

    @property
    def labels(self) -> Set[str]: ...

    @property
    def memory(self) -> Mapping[str, Any]: ...

    def before(self, key: str) -> Any:
        """The bot's memory of `key` before this delivery."""
        ...

    def issue_state(self) -> str:
        """ "opened" or "closed", as the plan leaves the issue."""
        ...

    def severity(self) -> int | None:
        """The severity level the labels say now."""
        ...

    def phase(self) -> str | None:
        """The phase the labels say now."""
        ...

    def category(self) -> str | None:
        """The category the labels say now."""
        ...


class TemplateFacts(Facts, Protocol):
    """What templates are rendered from (`render.context`): the facts, the rules and the plan's clock."""

    @property
    def rules(self) -> RuleSet: ...

    @property
    def now(self) -> datetime: ...


class _Labelled(Protocol):
    @property
    def rules(self) -> RuleSet: ...

    @property
    def labels(self) -> Set[str]: ...


class LevelsFromLabels:
    """Severity, phase and category as the rules read them from the labels: one derivation for a Draft and a sample."""

    def severity(self: _Labelled) -> int | None:
        return self.rules.severity_of(self.labels)

    def phase(self: _Labelled) -> str | None:
        return self.rules.phase_of(self.labels)

    def category(self: _Labelled) -> str | None:
        return self.rules.category_of(self.labels)
