"""The bot's webhook as GitLab stores it: the fields setup writes, how to find it, whether GitLab still delivers."""

from __future__ import annotations

from typing import Any

HOOK_NAME = "incident-bot"
HOOK_DESCRIPTION = "incident-bot: runs the incident process (managed by `incident-bot setup`)"
# The triggers the bot reads (deployments and feature flags: the changes an incident's suspects come from, issue 19);
# every other trigger is switched off (GitLab turns push events on by default).
HOOK_TRIGGERS = (
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "deployment_events",
    "feature_flag_events",
)
OFF_TRIGGERS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "job_events",
    "pipeline_events",
    "wiki_page_events",
    "releases_events",
)
GROUP_ONLY_OFF = ("subgroup_events", "member_events", "project_events")
REENABLE = (
    "make the bot answer at {url}, then in GitLab Settings → Webhooks → Test → Issue events (a delivery that "
    "succeeds re-enables the hook); `incident-bot reconcile` then heals what was missed"
)


def hook_fields(url: str, kind: str) -> dict[str, Any]:
    """The webhook as setup wants it (without the token, which GitLab never shows back)."""
    off = OFF_TRIGGERS + (GROUP_ONLY_OFF if kind == "groups" else ())
    return {
        "url": url,
        "name": HOOK_NAME,
        "description": HOOK_DESCRIPTION,
        **{t: True for t in HOOK_TRIGGERS},
        **{t: False for t in off},
        "enable_ssl_verification": True,
    }


def hook_differences(hook: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The fields of an existing hook that differ from `wanted`; fields an older GitLab does not report are skipped."""
    return sorted(k for k, v in wanted.items() if k in hook and hook[k] != v)


def find_hook(hooks: list[dict[str, Any]], url: str | None, *, hand_made: bool = False) -> dict[str, Any] | None:
    """The bot's hook: the one to `url`, else the one setup named (the bot moved to a new URL).

    `hand_made`: else any hook sending issue events (doctor reports on it; setup never takes over
    a hook it cannot tell from another integration's).
    """
    if url:
        exact = next((h for h in hooks if h.get("url") == url), None)
        if exact is not None:
            return exact
    named = next((h for h in hooks if h.get("name") == HOOK_NAME), None)
    if named is not None or not hand_made:
        return named
    return next((h for h in hooks if h.get("issues_events")), None)


def hook_disabled(hook: dict[str, Any]) -> str | None:
    """Why GitLab does not deliver to this hook now (its `alert_status` and `disabled_until`), or None."""
    status = hook.get("alert_status")
    if status == "disabled":
        return "GitLab disabled it for good after repeated failed deliveries"
    if status == "temporarily_disabled" or hook.get("disabled_until"):
        until = hook.get("disabled_until")
        return "GitLab paused it after failed deliveries" + (f" until {until}" if until else "")
    return None
