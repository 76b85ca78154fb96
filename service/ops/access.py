"""The bot user and its access level: it needs Developer to label, assign, comment and read membership."""

from __future__ import annotations

from typing import Any

from ..gitlab.ops import Namespace, OpsGitLab

DEVELOPER = 30
ADMIN = 50  # an administrator can do everything an Owner can; members/all does not list them
LEVEL_NAMES = {
    0: "no access",
    5: "Minimal",
    10: "Guest",
    15: "Planner",
    20: "Reporter",
    30: "Developer",
    40: "Maintainer",
    50: "Owner",
}


def access_name(level: int) -> str:
    """GitLab's name for an access level (`Developer (30)`)."""
    return f"{LEVEL_NAMES.get(level, 'level')} ({level})"


def bot_user(api: OpsGitLab, username: str | None) -> dict[str, Any] | None:
    """The bot's GitLab user: the one named (when the token is a maintainer's), else the token's own."""
    return api.user(username) if username else api.current_user()


def bot_access(api: OpsGitLab, ns: Namespace, user: dict[str, Any]) -> tuple[bool, str]:
    """Whether the user has Developer there, and a sentence saying what it has (and the fix when short)."""
    level = ADMIN if user.get("is_admin") else api.access_level(ns, int(user["id"]))
    if level >= DEVELOPER:
        return True, f"{access_name(level)} in {ns.path}"
    return False, f"has {access_name(level)} in {ns.path}: give it Developer (Manage → Members)"
