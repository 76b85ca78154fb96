"""`doctor`'s webhook check: present, pointing at the bot, its triggers on, enabled, its recent deliveries.

Where doctor runs, and in each project an alert route of rules/alerts.yml names (`routecheck`).
"""

from __future__ import annotations

from typing import Any

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from .hooks import HOOK_TRIGGERS, REENABLE, find_hook, hook_disabled
from .table import Row, Status

RECENT_DELIVERIES = 20  # the newest deliveries looked at for failures
SETUP = "incident-bot setup"


def check_hook(
    api: OpsGitLab, ns: Namespace, url: str | None, *, needed: bool = True, fix: str = SETUP
) -> tuple[list[Row], bool]:
    """The webhook: present, pointing here, its triggers on, enabled, recent deliveries succeeding.

    Returns the rows and whether a hook was found; `needed=False` when a group hook already delivers; `fix`: the
    setup command that makes it right.
    """
    name = f"{ns.kind[:-1]} {ns.path}"
    try:
        hook = find_hook(api.hooks(ns), url, hand_made=True)
    except GitLabError as exc:
        if ns.kind == "groups" and exc.status == 404:
            detail = f"group webhooks unavailable (GitLab Free?): use --project ({exc.detail})"
            return [Row("webhook", name, Status.WARN, detail)], False
        if exc.status == 403:
            detail = "this token cannot read webhooks (Maintainer needed): run doctor with a maintainer's token"
            return [Row("webhook", name, Status.WARN, detail)], False
        return [Row("webhook", name, Status.FAIL, exc.detail)], False
    if hook is None:
        if not needed:
            return [Row("webhook", name, Status.OK, "none here; the group's webhook delivers")], False
        return [Row("webhook", name, Status.FAIL, f"no webhook sends issue events to the bot: run `{fix}`")], False
    rows = []
    if not url:
        rows.append(
            Row("webhook", "url", Status.WARN, f"points to {hook.get('url')}; set INCIDENT_BOT_PUBLIC_URL to check it")
        )
    elif hook.get("url") != url:
        rows.append(Row("webhook", "url", Status.FAIL, f"points to {hook.get('url')}, not {url}: run `{fix}`"))
    else:
        rows.append(Row("webhook", "url", Status.OK, str(url)))
    missing = [t for t in HOOK_TRIGGERS if hook.get(t) is False]
    if missing:
        rows.append(Row("webhook", "triggers", Status.FAIL, f"{', '.join(missing)} off: run `{fix}`"))
    disabled = hook_disabled(hook)
    if disabled:
        rows.append(Row("webhook", "enabled", Status.FAIL, f"{disabled}: {REENABLE.format(url=hook.get('url'))}"))
    else:
        rows.append(Row("webhook", "enabled", Status.OK, str(hook.get("alert_status") or "executable")))
    rows.append(_deliveries(api, ns, hook, fix))
    return rows, True


def _succeeded(status: Any) -> bool:
    """A 2xx answer; GitLab records a number, a numeric string, or words such as `internal error`."""
    try:
        return 200 <= int(str(status)) < 300
    except ValueError:
        return False


def _deliveries(api: OpsGitLab, ns: Namespace, hook: dict[str, Any], fix: str) -> Row:
    try:
        events = api.hook_events(ns, int(hook["id"]))
    except GitLabError as exc:
        if exc.status in (403, 404):
            return Row("webhook", "deliveries", Status.OK, "this GitLab does not list a hook's deliveries; not checked")
        return Row("webhook", "deliveries", Status.WARN, exc.detail)
    recent = sorted(events, key=lambda e: str(e.get("created_at") or ""), reverse=True)[:RECENT_DELIVERIES]
    failed = [e for e in recent if not _succeeded(e.get("response_status"))]
    if not failed:
        return Row("webhook", "deliveries", Status.OK, f"the last {len(recent)} succeeded" if recent else "none yet")
    latest = failed[0]
    status = latest.get("response_status")
    hint = (
        f": GITLAB_WEBHOOK_SECRET differs from the hook's token: `{fix} --reset-token`"
        if str(status) == "401"
        else ": see the bot's web logs"
    )
    return Row(
        "webhook",
        "deliveries",
        Status.WARN,
        f"{len(failed)} of the last {len(recent)} failed (latest: {status} at {latest.get('created_at')}){hint}",
    )
