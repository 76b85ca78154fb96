"""Build the `paging:` section from the schema-checked files and check each name it uses, with file and line."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .model import RuleSet
from .paging import Level, PageOn, Paging, Policy, split
from .source import Located, Problem

KEYS = ("policies", "page_on", "contacts", "teams")


def build_paging(docs: list[Located], rules: RuleSet) -> tuple[Paging, list[Problem]]:
    """The paging section (its parts may be spread over files, each part written once) and its problems."""
    problems: list[Problem] = []
    found: dict[str, tuple[Located, Any]] = {}
    for doc in docs:
        section = doc.data.get("paging")
        if not isinstance(section, dict):
            continue
        for key in KEYS:
            if key not in section:
                continue
            if key in found:
                first = found[key][0]
                at = f"{first.file}:{first.line(('paging', key))}"
                problems.append(
                    Problem(doc.file, doc.line(("paging", key)), f"paging.{key} is already defined at {at}")
                )
                continue
            found[key] = (doc, section[key])
    check = _Checker(rules, problems)
    policies = {name: check.policy(found["policies"][0], name, raw) for name, raw in _items(found, "policies")}
    page_on = tuple(check.page_on(found["page_on"][0], i, raw, policies) for i, raw in _items(found, "page_on"))
    contacts = {user: check.contacts(found["contacts"][0], user, raw) for user, raw in _items(found, "contacts")}
    teams = {team: check.team(found["teams"][0], team, name, policies) for team, name in _items(found, "teams")}
    if (page_on or teams or contacts) and not policies:
        doc = next(iter(found.values()))[0]
        problems.append(Problem(doc.file, doc.line(("paging",)), "paging: page_on, contacts and teams need policies"))
    paging = Paging(MappingProxyType(policies), page_on, MappingProxyType(contacts), MappingProxyType(teams))
    return paging, problems


def _items(found: dict[str, tuple[Located, Any]], key: str) -> list[tuple[Any, Any]]:
    if key not in found:
        return []
    raw = found[key][1]
    return list(enumerate(raw)) if isinstance(raw, list) else list(raw.items())


class _Checker:
    """Checks the names a paging part uses against the rules; each mistake a Problem at its line."""

    def __init__(self, rules: RuleSet, problems: list[Problem]):
        self.rules, self.problems = rules, problems

    def _problem(self, doc: Located, path: tuple[Any, ...], message: str) -> None:
        self.problems.append(Problem(doc.file, doc.line(("paging", *path)), message))

    def target(self, doc: Located, path: tuple[Any, ...], target: str) -> None:
        kind, name = split(target)
        known = {"role": self.rules.roles, "rotation": self.rules.rotations, "channel": self.rules.channels}[kind]
        if name not in known:
            self._problem(doc, path, f"{target}: unknown {kind} {name!r}")

    def policy(self, doc: Located, name: str, raw: dict[str, Any]) -> Policy:
        levels = []
        for i, level in enumerate(raw["levels"]):
            for j, target in enumerate(level["notify"]):
                self.target(doc, ("policies", name, "levels", i, "notify", j), target)
            levels.append(Level(tuple(dict.fromkeys(level["notify"])), float(level["ack_within_minutes"])))
        return Policy(name, tuple(levels), int(raw.get("repeat", 0)))

    def page_on(self, doc: Located, index: int, raw: dict[str, Any], policies: dict[str, Policy]) -> PageOn:
        levels = raw["severity"] if isinstance(raw["severity"], list) else [raw["severity"]]
        for level in levels:
            if level not in self.rules.severities:
                self._problem(doc, ("page_on", index, "severity"), f"page_on: unknown severity {level}")
        for j, role in enumerate(raw.get("roles", ())):
            if role not in self.rules.roles:
                self._problem(doc, ("page_on", index, "roles", j), f"page_on: unknown role {role!r}")
        if raw["policy"] not in policies:
            self._problem(doc, ("page_on", index, "policy"), f"page_on: unknown policy {raw['policy']!r}")
        return PageOn(tuple(dict.fromkeys(levels)), raw["policy"], tuple(dict.fromkeys(raw.get("roles", ()))))

    def contacts(self, doc: Located, user: str, raw: list[str]) -> tuple[str, ...]:
        for j, contact in enumerate(raw):
            kind, name = split(contact)
            if kind == "channel" and name not in self.rules.channels:
                self._problem(doc, ("contacts", user, j), f"contact of {user!r}: unknown channel {name!r}")
        return tuple(dict.fromkeys(raw))

    def team(self, doc: Located, team: str, policy: str, policies: dict[str, Policy]) -> str:
        if team not in self.rules.teams:
            self._problem(doc, ("teams", team), f"paging.teams: unknown team {team!r}")
        if policy not in policies:
            self._problem(doc, ("teams", team), f"paging.teams: unknown policy {policy!r} for team {team!r}")
        return policy
