"""`doctor`'s labels rows: the labels `setup` makes (`labels.wanted_labels`) are there, where doctor runs and in each
project an alert route of rules/alerts.yml names (`routecheck`)."""

from __future__ import annotations

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..rules import RuleSet
from .labels import wanted_labels
from .table import Row, Status

SHOWN = 5  # missing labels named in a row; the rest counted


def check_labels(api: OpsGitLab, ns: Namespace, rules: RuleSet, fix: str = "incident-bot setup", note: str = "") -> Row:
    """Every label the rules use exists (GitLab would create a missing one without colour or description)."""
    try:
        present = {str(label.get("name")) for label in api.labels(ns)}
    except GitLabError as exc:
        return Row("labels", ns.path, Status.FAIL, exc.detail + note)
    wanted = wanted_labels(rules)
    missing = [w.name for w in wanted if w.name not in present]
    if missing:
        shown = ", ".join(missing[:SHOWN]) + (f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else "")
        return Row("labels", ns.path, Status.WARN, f"{len(missing)} missing ({shown}): run `{fix}`{note}")
    return Row("labels", ns.path, Status.OK, f"all {len(wanted)} present{note}")
