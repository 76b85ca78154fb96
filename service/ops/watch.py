"""The periodic webhook check the worker runs: a disabled hook means the bot silently sees no incidents.

GitLab pauses a hook after 4 failed deliveries in a row and disables it for good after 40, and nobody is
told. This check reads the hook every few minutes and, when its state changes (working → disabled, and
back), alerts the responders and logs: once per change, not on every run, across any number of workers
(the last state is kept in Redis and swapped atomically, so only one worker sees each change).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..keys import Keys
from .hooks import REENABLE, find_hook, hook_disabled

log = logging.getLogger("incident_bot.ops")
HEALTHY = "delivering"
BROKEN = (
    "incident-bot is not receiving GitLab events for {where}: {why}. New incidents are not declared and "
    "changes are not handled until this is fixed. Fix: {fix}"
)
RECOVERED = "incident-bot receives GitLab events for {where} again; reconcile brings missed incidents up to date."


@dataclass(frozen=True)
class HookHealth:
    """What the hook's state means for the bot; `state` is a short stable word kept in Redis."""

    state: str
    why: str = ""
    fix: str = ""

    @property
    def healthy(self) -> bool:
        return self.state == HEALTHY


def hook_health(api: OpsGitLab, ns: Namespace, url: str | None) -> HookHealth:
    """Read the hook and say whether GitLab delivers to the bot."""
    hook = find_hook(api.hooks(ns), url, hand_made=True)
    if hook is None:
        return HookHealth("missing", "its webhook is gone", "run `incident-bot setup`")
    if url and hook.get("url") != url:
        return HookHealth("elsewhere", f"its webhook points to {hook.get('url')}", "run `incident-bot setup`")
    disabled = hook_disabled(hook)
    if disabled:
        state = str(hook.get("alert_status") or "temporarily_disabled")
        return HookHealth(state, f"the webhook is off ({disabled})", REENABLE.format(url=hook.get("url")))
    return HookHealth(HEALTHY)


def check_webhook(
    api: OpsGitLab,
    ns: Namespace,
    url: str | None,
    connection: Redis,
    alert: Callable[[str], None],
    keys: Keys | None = None,
) -> HookHealth | None:
    """One periodic check: alert (and log) when the hook's state changed since the last check; None if unknown."""
    try:
        health = hook_health(api, ns, url)
    except GitLabError as exc:
        # GitLab unreachable says nothing about the hook; the last known state stands.
        log.warning("webhook check of %s skipped: %s", ns.path, exc)
        return None
    key = (keys or Keys()).hook_state(ns.kind, ns.id)
    raw = connection.set(key, health.state, get=True)
    previous = raw.decode() if isinstance(raw, bytes) else raw
    if previous == health.state or (previous is None and health.healthy):
        return health
    if health.healthy:
        message = RECOVERED.format(where=ns.path)
        log.info("webhook of %s delivers again (was %s)", ns.path, previous)
    else:
        message = BROKEN.format(where=ns.path, why=health.why, fix=health.fix)
        log.error("webhook of %s: %s (%s)", ns.path, health.why, health.state)
    try:
        alert(message)
    except Exception:
        # Put the old state back so the next run tries to tell people again.
        if previous is None:
            connection.delete(key)
        else:
            connection.set(key, previous)
        raise
    return health
