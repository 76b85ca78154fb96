"""The closed set of rule actions (`then`): checked and compiled once at load into typed values.

`when` is compiled at load (regexes, references); so is `then`: each action becomes
one of the frozen values below, with its references resolved (a `post` holds its
template, a `comment` its compiled template, `open_review` its labels), so planning
neither re-checks an argument nor compiles a template. The planning step that applies
them is `service.handlers.engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2

from .samples import render_problem
from .templates import TEMPLATES

if TYPE_CHECKING:
    from .model import RuleSet


@dataclass(frozen=True)
class SetSeverity:
    level: int


@dataclass(frozen=True)
class SetPhase:
    name: str


@dataclass(frozen=True)
class SetCategory:
    name: str


@dataclass(frozen=True)
class AddLabelsThen:
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RemoveLabelsThen:
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Staff:
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Post:
    """A named template of the rules, rendered when the plan is complete."""

    template: jinja2.Template


@dataclass(frozen=True)
class Comment:
    """An inline `comment:` template, compiled here once."""

    template: jinja2.Template


@dataclass(frozen=True)
class Checklist:
    phase: str  # a phase name, or "current"


@dataclass(frozen=True)
class NotifyThen:
    channel: str
    message: str = "status_update"


@dataclass(frozen=True)
class Remind:
    roles: tuple[str, ...]
    every_minutes: float | None = None  # None: the severity's update_every_minutes


@dataclass(frozen=True)
class OpenReviewThen:
    template: jinja2.Template | None
    labels: tuple[str, ...]


@dataclass(frozen=True)
class CloseIssueThen:
    pass


Then = (
    SetSeverity
    | SetPhase
    | SetCategory
    | AddLabelsThen
    | RemoveLabelsThen
    | Staff
    | Post
    | Comment
    | Checklist
    | NotifyThen
    | Remind
    | OpenReviewThen
    | CloseIssueThen
)


def _names(arg: Any) -> tuple[str, ...]:
    return tuple(arg) if isinstance(arg, list) else (arg,)


def check_action(op: str, arg: Any, rules: RuleSet) -> str | None:
    """A problem with the action's references, or None (a `comment`'s template is checked by compiling it)."""
    if op == "set_severity" and arg not in rules.severities:
        return f"set_severity: unknown severity {arg!r} (known: {sorted(rules.severities)})"
    if op in ("set_phase", "checklist") and arg != "current" and rules.phase(arg) is None:
        return f"{op}: unknown phase {arg!r} (known: {[p.name for p in rules.phases]})"
    if op == "set_category" and arg not in rules.categories:
        return f"set_category: unknown category {arg!r} (known: {sorted(rules.categories)})"
    if op == "staff":
        unknown = [r for r in _names(arg) if r not in rules.roles]
        if unknown:
            return f"staff: unknown role(s) {unknown} (known: {sorted(rules.roles)})"
    if op == "post" and arg not in rules.templates:
        return f"post: unknown template {arg!r} (known: {sorted(rules.templates)})"
    if op == "notify":
        channel = arg if isinstance(arg, str) else arg["channel"]
        if channel not in rules.channels:
            return f"notify: unknown channel {channel!r} (known: {sorted(rules.channels)})"
    if op == "remind":
        unknown = [r for r in _names(arg["role"]) if r not in rules.roles]
        if unknown:
            return f"remind: unknown role(s) {unknown}"
    if op == "open_review" and isinstance(arg, dict) and arg.get("template") and arg["template"] not in rules.templates:
        return f"open_review: unknown template {arg['template']!r}"
    return None


def compile_action(op: str, arg: Any, rules: RuleSet, comment: jinja2.Template | None = None) -> Then:
    """The typed value of one checked action (`comment` passes its compiled template)."""
    if op == "set_severity":
        return SetSeverity(arg)
    if op == "set_phase":
        return SetPhase(arg)
    if op == "set_category":
        return SetCategory(arg)
    if op == "add_labels":
        return AddLabelsThen(tuple(arg))
    if op == "remove_labels":
        return RemoveLabelsThen(tuple(arg))
    if op == "staff":
        return Staff(_names(arg))
    if op == "post":
        return Post(rules.templates[arg])
    if op == "comment":
        assert comment is not None
        return Comment(comment)
    if op == "checklist":
        return Checklist(arg)
    if op == "notify":
        return (
            NotifyThen(arg) if isinstance(arg, str) else NotifyThen(arg["channel"], arg.get("message", "status_update"))
        )
    if op == "remind":
        return Remind(_names(arg["role"]), arg.get("every_minutes"))
    if op == "open_review":
        template = arg.get("template", "review") if isinstance(arg, dict) else "review"
        labels = tuple(arg.get("labels", ())) if isinstance(arg, dict) else ()
        return OpenReviewThen(rules.templates.get(template), labels or rules.settings.review_labels)
    if op == "close_issue":
        return CloseIssueThen()
    raise ValueError(f"unknown action {op!r}")  # the schema admits only the ones above


def compile_then(
    then: Iterable[tuple[str, Any]],
    rules: RuleSet,
    samples: list[Any],
    template_room: Callable[[str], str | None],
) -> tuple[list[Then], list[tuple[str, int]]]:
    """Compile a rule's actions; returns (actions, [(problem, index)]). Comments are rendered for the samples."""
    actions: list[Then] = []
    problems: list[tuple[str, int]] = []
    for i, (op, arg) in enumerate(then):
        comment = None
        full = template_room(arg) if op == "comment" else None
        problem = f"comment: {full}" if full else check_action(op, arg, rules)
        if not problem and op == "comment":
            try:
                comment = TEMPLATES.from_string(arg)
            except jinja2.TemplateSyntaxError as exc:
                problem = f"comment: template error: {exc.message}"
            if comment is not None and samples:
                found = render_problem(comment, samples)
                problem = f"comment: template {found}" if found else None
        if problem:
            problems.append((problem, i))
        else:
            actions.append(compile_action(op, arg, rules, comment))
    return actions, problems
