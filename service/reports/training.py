"""`report --training`: who has practised which role in drills and when last, and who in each rotation never has.

Built from the training record (`store.training`) and the rules' roles and rotations. A
rotation's members are checked against the roles it staffs (a rotation that staffs no role,
such as a team's paging rotation, against any role). JSON is the stable contract (README,
"Training record and scorecard"); Markdown is for an issue; CSV for spreadsheets.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.config import Settings
from service.errors import ConfigError, UsageError
from service.rules import RulesError, load_rules
from service.store import open_store
from service.store.cli import open_index_or_exit
from service.store.training import TrainingRecord, records
from service.text import csv_cell, neutralise_line, ref_text

FORMATS = ("md", "csv", "json")
CSV_HEADER = ["kind", "name", "username", "drills", "last_practised", "last_drill"]


def iso(at: datetime) -> str:
    """UTC ISO 8601 with a Z (as the report's JSON; not imported from `formats`, which loads the chart library)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Practice:
    """One person's drills in one role (or, for a rotation, in the roles it is checked against)."""

    username: str
    drills: int
    last: datetime | None  # None: never
    last_drill: str = ""  # `group/project#iid` of the latest
    last_scenario: str = ""


@dataclass(frozen=True)
class RoleTraining:
    title: str
    rotation: str | None
    practised: tuple[Practice, ...]  # by username


@dataclass(frozen=True)
class RotationTraining:
    roles: tuple[str, ...]  # the roles its members are checked against (empty: any role)
    members: tuple[Practice, ...]  # in the rotation's order

    @property
    def never(self) -> tuple[str, ...]:
        """Members who have practised none of those roles."""
        return tuple(m.username for m in self.members if m.drills == 0)


@dataclass(frozen=True)
class TrainingReport:
    generated_at: datetime
    drills: int  # distinct drills in the record
    roles: dict[str, RoleTraining]
    rotations: dict[str, RotationTraining]


def _practice(username: str, held: list[TrainingRecord]) -> Practice:
    drills = {(r.project_id, r.iid): r for r in held}  # a person holding a role twice in one drill: one drill
    if not drills:
        return Practice(username, 0, None)
    latest = max(drills.values(), key=lambda r: (r.closed_at, r.project_id, r.iid))
    return Practice(username, len(drills), latest.closed_at, latest.ref, latest.scenario)


def build_training(records: Iterable[TrainingRecord], rules: Any, now: datetime) -> TrainingReport:
    """The report from the records and the rules (roles the rules no longer define still show, by name)."""
    kept = list(records)
    by_role: dict[str, dict[str, list[TrainingRecord]]] = {}
    for r in kept:
        by_role.setdefault(r.role, {}).setdefault(r.username, []).append(r)
    names = [*rules.roles, *sorted(set(by_role) - set(rules.roles))]
    roles = {}
    for name in names:
        role = rules.roles.get(name)
        people = by_role.get(name, {})
        roles[name] = RoleTraining(
            title=role.title if role is not None else name,
            rotation=role.rotation if role is not None else None,
            practised=tuple(_practice(u, people[u]) for u in sorted(people)),
        )
    rotations = {}
    for name, rotation in rules.rotations.items():
        staffs = tuple(r for r, role in rules.roles.items() if role.rotation == name)
        counted = [r for r in kept if not staffs or r.role in staffs]
        members = tuple(_practice(m, [r for r in counted if r.username == m]) for m in dict.fromkeys(rotation.members))
        rotations[name] = RotationTraining(staffs, members)
    return TrainingReport(now, len({(r.project_id, r.iid) for r in kept}), roles, rotations)


def contract(report: TrainingReport) -> dict[str, Any]:
    """The documented JSON contract; `null` for a time that never happened."""

    def person(p: Practice) -> dict[str, Any]:
        last = iso(p.last) if p.last else None
        return {
            "username": p.username,
            "drills": p.drills,
            "last_practised": last,
            "last_drill": p.last_drill or None,
            "last_scenario": p.last_scenario or None,
        }

    return {
        "generated_at": iso(report.generated_at),
        "drills": report.drills,
        "roles": {
            name: {"title": r.title, "rotation": r.rotation, "practised": [person(p) for p in r.practised]}
            for name, r in report.roles.items()
        },
        "rotations": {
            name: {
                "roles": list(r.roles),
                "members": [person(p) for p in r.members],
                "never_practised": list(r.never),
            }
            for name, r in report.rotations.items()
        },
    }


def _cell(text: str) -> str:
    """Safe in a Markdown table cell of an issue: no pipe, no line break, no mention, no link."""
    return neutralise_line(text)


def _when(p: Practice) -> str:
    return f"{p.last:%Y-%m-%d}" if p.last else "never"


def to_markdown(report: TrainingReport) -> str:
    """Markdown to paste into an issue."""
    lines = [
        f"## Training record {report.generated_at:%Y-%m-%d}",
        "",
        f"**{report.drills}** drills recorded.",
        "",
        "### Who has practised each role",
        "",
        "| role | person | drills | last practised | last drill |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for r in report.roles.values():
        if not r.practised:
            lines.append(f"| {_cell(r.title)} | *nobody yet* | 0 | never | |")
        for p in r.practised:
            row = f"| {_cell(r.title)} | {_cell(p.username)} | {p.drills} | {_when(p)} | {ref_text(p.last_drill)} |"
            lines.append(row)
    lines += [
        "",
        "### Who in each rotation has never practised",
        "",
        "| rotation | roles | never practised | practised (last) |",
        "| --- | --- | --- | --- |",
    ]
    for name, rot in report.rotations.items():
        roles = ", ".join(_cell(report.roles[r].title) for r in rot.roles) or "any role"
        never = ", ".join(_cell(u) for u in rot.never) or "*everyone has practised*"
        done = ", ".join(f"{_cell(p.username)} ({_when(p)})" for p in rot.members if p.drills) or "—"
        lines.append(f"| {_cell(name)} | {roles} | {never} | {done} |")
    return "\n".join(lines) + "\n"


def to_csv(report: TrainingReport) -> str:
    """`role` rows: each person per role practised; `rotation` rows: each member (drills 0: never practised)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)

    def row(kind: str, name: str, p: Practice) -> list[Any]:
        return [csv_cell(c) for c in (kind, name, p.username, p.drills, iso(p.last) if p.last else "", p.last_drill)]

    for name, r in report.roles.items():
        writer.writerows(row("role", name, p) for p in r.practised)
    for name, rot in report.rotations.items():
        writer.writerows(row("rotation", name, p) for p in rot.members)
    return out.getvalue()


def render(report: TrainingReport, fmt: str) -> str:
    """The report in `fmt` (md, csv or json)."""
    if fmt == "json":
        return json.dumps(contract(report), indent=2) + "\n"
    return to_csv(report) if fmt == "csv" else to_markdown(report)


def training_text(args: argparse.Namespace) -> str:
    """`report --training`: the report over the whole record (a clear exit for what does not apply to it)."""
    given = [
        flag
        for flag, value in (("--since", args.since), ("--from", args.start), ("--to", args.raw_to), ("--by", args.by))
        if value is not None
    ]
    if given:
        raise UsageError(f"incident-bot report: --training covers the whole record; {', '.join(given)} does not apply")
    if args.format not in FORMATS:
        raise UsageError(f"incident-bot report: --training comes as {', '.join(FORMATS)}, not {args.format}")
    try:
        rules = load_rules(Settings.from_env().rules_dir)
    except RulesError as exc:
        raise ConfigError(exc.report()) from None
    store = open_index_or_exit(open_store)
    kept = [r for r in records(store.engine) if _in_scope(r, args.project, args.group)]
    return render(build_training(kept, rules, datetime.now(UTC).replace(microsecond=0)), args.format)


def _in_scope(r: TrainingRecord, project: str | None, group: str | None) -> bool:
    """The drill ran in `--project` (id or path) or under `--group` (none given: every drill)."""
    if project:
        return str(r.project_id) == project if project.isdigit() else r.project_path == project.strip("/")
    return not group or r.project_path.startswith(group.strip("/") + "/")
