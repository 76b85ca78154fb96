"""Built-in steps every process needs: one label per exclusive scope, and the bot's bookkeeping."""

from __future__ import annotations

from ..text import mention
from .draft import Draft

CONFIDENTIAL_REVIEW_RULE = "builtin:confidential-review"


def _winner(present: list[str], added: frozenset[str], order: list[str]) -> str:
    """The label that stays: the one a person just added, else the first in `order`."""
    just_added = [label for label in order if label in present and label in added]
    return (just_added or [label for label in order if label in present])[0]


def exclusive_scopes(d: Draft) -> None:
    """Exactly one severity, phase and category label: GitLab Free does not enforce scoped labels."""
    severities = [s.label for s in sorted(d.rules.severities.values(), key=lambda s: s.level)]
    phases = [p.label for p in reversed(d.rules.phases)]
    categories = [c.label for c in d.rules.categories.values()]
    for what, order in (("severity", severities), ("phase", phases), ("category", categories)):
        present = [label for label in order if label in d.labels]
        if len(present) > 1:
            keep = _winner(present, d.event.labels_added, order)
            others = set(present) - {keep}
            why = (
                f"kept `{keep}` and removed {', '.join(f'`{x}`' for x in sorted(others))}: "
                f"an incident has one {what} at a time"
            )
            d.remove_labels(others, f"exclusive-{what}", why=why)


def native_severity(d: Draft) -> None:
    """A person changed GitLab's own severity field: the severity label follows it."""
    e = d.event
    if not e.severity_changed or not e.severity or (e.labels_added | e.labels_removed) & d.rules.severity_labels:
        return  # a label edit in the same event wins over the native field
    match = d.rules.severity_by_native(e.severity)
    if match is not None:
        d.set_severity(match.level, "native-severity")


def record(d: Draft) -> None:
    """Remember what was handled: declared, severity, phase, category, and the timeline of changes."""
    level, phase, category = d.severity(), d.phase(), d.category()
    # Timeline entries name people as valid `@username`s only: they are shown with mentions kept.
    actor = f" by {mention(d.event.actor.username)}" if d.event.actor.username else ""
    level_before, phase_before, category_before = (_shown(d.before(k)) for k in ("severity", "phase", "category"))
    if not d.before("declared"):
        d.timeline(
            f"incident declared{actor}: severity {_shown(level)}, phase {_shown(phase)}, category {_shown(category)}",
            first=True,
        )
    else:
        if category != d.before("category"):
            d.timeline(f"category {category_before} → {_shown(category)}{actor}", first=True)
        if phase != d.before("phase"):
            d.timeline(f"phase {phase_before} → {_shown(phase)}{actor}", first=True)
        if level != d.before("severity"):
            d.timeline(f"severity {level_before} → {_shown(level)}{actor}", first=True)
    for key, value in (("declared", True), ("severity", level), ("phase", phase), ("category", category)):
        d.remember(key, value)


def confidential_review(d: Draft) -> None:
    """An incident made confidential after its review was opened takes its review with it."""
    review = d.before("review")
    if d.state.issue.confidential and isinstance(review, dict) and "iid" in review and not review.get("confidential"):
        d.confide_review(int(review["iid"]), CONFIDENTIAL_REVIEW_RULE)
        d.remember("review", {**review, "confidential": True})


def _shown(value: object) -> str:
    return "none" if value is None else str(value)
