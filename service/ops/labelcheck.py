"""`doctor`'s labels rows: the labels `setup` makes (`labels.wanted_labels`) are there, where doctor runs and in each
project an alert route of rules/alerts.yml names."""

from __future__ import annotations

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..rules import RuleSet
from .labels import ROUTE_PROJECT, alert_projects, wanted_labels
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


def check_alert_labels(api: OpsGitLab, rules: RuleSet, targets: list[Namespace], fix: str) -> list[Row]:
    """One labels row per project an alert route names, but for one doctor already checks (`targets`); a project
    GitLab does not know (or the token cannot see) is a fail naming rules/alerts.yml. None without alerts.yml."""
    rows = []
    for path in alert_projects(rules):
        try:
            ns = api.namespace("projects", path)
        except GitLabError as exc:
            why = "; check the path, and that the token's user can see it" if exc.status == 404 else ""
            rows.append(Row("project", path, Status.FAIL, f"{exc.detail}{why}: {ROUTE_PROJECT}"))
            continue
        if not any(ns.kind == there.kind and ns.id == there.id for there in targets):
            # A project of the group doctor runs for lists the group's labels too (inherited): checked the same way.
            rows.append(check_labels(api, ns, rules, fix, note=f"; {ROUTE_PROJECT}"))
    return rows
