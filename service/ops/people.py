"""The people the rotations name: each a real GitLab user, not blocked, a member where the bot works.

`setup` refuses to go live while one is not (the bot would assign and mention someone who cannot act,
or a stranger), and `doctor` checks them on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..gitlab import GitLabError
from ..gitlab.ops import Namespace, OpsGitLab
from ..rules import RuleSet
from ..rules.rotation import is_placeholder
from .table import Row, Status

INACTIVE = frozenset({"blocked", "banned", "deactivated", "blocked_pending_approval", "ldap_blocked"})


@dataclass(frozen=True)
class Person:
    """One rotation member and what is wrong with them (`problem` empty when nothing is)."""

    username: str
    rotations: tuple[str, ...]
    where: str  # file:line of the first rotation naming them
    problem: str = ""
    detail: str = ""


def rotation_people(rules: RuleSet) -> dict[str, tuple[list[str], str]]:
    """Each username the rotations name (members and overrides): its rotations and where it is written."""
    people: dict[str, tuple[list[str], str]] = {}
    for rotation in rules.rotations.values():
        for name in [*rotation.members, *(o.user for o in rotation.overrides)]:
            names, where = people.setdefault(name, ([], rotation.where or rotation.name))
            if rotation.name not in names:
                names.append(rotation.name)
    return people


def check_people(api: OpsGitLab, ns: Namespace, rules: RuleSet) -> list[Person]:
    """Every rotation member: a placeholder, unknown to GitLab, blocked, or not a member of `ns`; or fine."""
    found = []
    for username, (rotations, where) in rotation_people(rules).items():
        person = Person(username, tuple(rotations), where)
        found.append(_check(api, ns, person))
    return found


def _check(api: OpsGitLab, ns: Namespace, person: Person) -> Person:
    fix = f"in {person.where} (rotation {', '.join(person.rotations)})"
    if is_placeholder(person.username):
        return _problem(person, "placeholder", f"a placeholder: put a real GitLab username in its place {fix}")
    try:
        user = api.user(person.username)
        if user is None:
            return _problem(person, "unknown", f"GitLab knows no such user: correct the username {fix}")
        state = str(user.get("state") or "active")
        if state in INACTIVE:
            return _problem(person, "blocked", f"the user is {state}: take them out {fix}, or unblock them")
        level = api.access_level(ns, int(user["id"]))
    except GitLabError as exc:
        return _problem(person, "unchecked", f"could not check: {exc.detail}")
    if level <= 0:
        fix = f"add them to {ns.path} (Manage → Members, Developer) or take them out {fix}"
        return _problem(person, "not a member", f"not a member of {ns.path}: {fix}")
    return Person(person.username, person.rotations, person.where, "", f"member of {ns.path}")


def _problem(person: Person, problem: str, detail: str) -> Person:
    return Person(person.username, person.rotations, person.where, problem, detail)


def people_rows(api: OpsGitLab, ns: Namespace, rules: RuleSet) -> list[Row]:
    """doctor's rows: one per rotation member, fail when the bot could not staff them, with the fix."""
    rows = []
    for person in check_people(api, ns, rules):
        status = Status.OK if not person.problem else Status.WARN if person.problem == "unchecked" else Status.FAIL
        rows.append(Row("rotation member", f"@{person.username}", status, person.detail))
    return rows
