"""`doctor`'s rows for each project an alert route of rules/alerts.yml names: the bot opens incidents there, so the
labels `setup` makes must be there, and a webhook must bring the incident's changes back to the bot."""

from __future__ import annotations

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..rules import RuleSet
from .hookcheck import check_hook
from .labelcheck import check_labels
from .labels import ROUTE_PROJECT, alert_projects
from .table import Row, Status

NOTE = f"; {ROUTE_PROJECT}"


def check_alert_projects(
    api: OpsGitLab, rules: RuleSet, targets: list[Namespace], fix: str, url: str | None, group: Namespace | None
) -> list[Row]:
    """A labels row and a webhook row per project an alert route names, but for one doctor already checks
    (`targets`); `group`: the group whose webhook delivers for its projects. A project GitLab does not know (or the
    token cannot see) is a fail naming rules/alerts.yml. None without alerts.yml."""
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
            rows.append(check_labels(api, ns, rules, fix, note=NOTE))
            rows.append(check_route_hook(api, ns, url, fix, group))
    return rows


def check_route_hook(api: OpsGitLab, ns: Namespace, url: str | None, fix: str, group: Namespace | None) -> Row:
    """doctor's webhook check (`check_hook`) in a routed project, as one row: its worst status, with what is wrong
    and the fix, or all that is right."""
    if group is not None and ns.path.startswith(group.path + "/"):
        return Row("webhook", ns.path, Status.OK, f"the webhook of group {group.path} delivers{NOTE}")
    found, _ = check_hook(api, ns, url, fix=fix)
    worst = next((s for s in (Status.FAIL, Status.WARN) if any(r.status is s for r in found)), Status.OK)
    shown = [r.detail for r in found if r.status is worst]
    return Row("webhook", ns.path, worst, "; ".join(shown) + NOTE)
