"""Load `rules/`: validate every file, report every mistake with file, line and rule, or refuse the lot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
from jsonschema import Draft202012Validator

from .rotation import Override, Rotation
from .rulecheck import render_problem, sample_drafts
from .sandbox import BoundedSandbox, step_budget
from .schema import RULES_SCHEMA
from .yamlsrc import MAX_VALUES, Located, Problem, load

SECTIONS = ("settings", "severities", "phases", "categories", "roles", "rotations", "templates", "channels", "teams")
_VALIDATOR = Draft202012Validator(RULES_SCHEMA)
TEMPLATES = BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
# Bounds that keep `check-rules`, a worker's start and every reload under ~2 s whatever the files
# hold (the YAML ones are in yamlsrc, the template ones in sandbox). The shipped rules use ~14 KB
# in 10 files and 30 rules; 2,000 rules of the benchmark's kind load in about a second.
MAX_FILES = 200
MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 1024 * 1024
MAX_RULES = 2_000
MAX_TEMPLATE_CHARS = 50_000  # all templates and `comment:` texts together: compiling costs ~25 us a character
LOAD_STEPS = 300_000  # template work of all the sample renders of one load (see sandbox.MAX_STEPS)


class RulesError(Exception):
    """The rule set is invalid; `problems` lists every mistake found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in rules")
        self.problems = problems

    def report(self) -> str:
        """Every problem, one per line, preceded by a count."""
        noun = "error" if len(self.problems) == 1 else "errors"
        return "\n".join([f"invalid rules: {len(self.problems)} {noun}", *(f"  {p}" for p in self.problems)])


@dataclass(frozen=True)
class Severity:
    level: int
    label: str
    name: str
    native: str = "UNKNOWN"
    description: str = ""
    update_every_minutes: float | None = None


@dataclass(frozen=True)
class Phase:
    name: str
    label: str
    title: str = ""
    guidance: str = ""
    checklist: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    rotation: str
    duties: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: str
    target_env: str
    secret_env: str | None = None


@dataclass(frozen=True)
class Team:
    name: str
    rotation: str
    channel: str | None = None
    title: str = ""


@dataclass(frozen=True)
class Rule:
    """One rule: conditions (`when`) and actions (`then`), with where it was written."""

    name: str
    file: str
    line: int
    when: tuple[tuple[str, Any], ...]
    then: tuple[tuple[str, Any], ...]
    description: str = ""


@dataclass(frozen=True)
class RuleSet:
    """The whole process, validated and frozen."""

    rules: tuple[Rule, ...] = ()
    severities: Mapping[int, Severity] = field(default_factory=lambda: MappingProxyType({}))
    phases: tuple[Phase, ...] = ()
    categories: Mapping[str, Category] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    rotations: Mapping[str, Rotation] = field(default_factory=lambda: MappingProxyType({}))
    templates: Mapping[str, jinja2.Template] = field(default_factory=lambda: MappingProxyType({}))
    channels: Mapping[str, ChannelSpec] = field(default_factory=lambda: MappingProxyType({}))
    teams: Mapping[str, Team] = field(default_factory=lambda: MappingProxyType({}))
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    files: tuple[str, ...] = ()

    @property
    def incident_label(self) -> str:
        return str(self.settings.get("incident_label", "incident"))

    def phase(self, name: str | None) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    def summary(self) -> str:
        """The one-line summary `check-rules` prints."""
        return (
            f"rules OK: {len(self.rules)} rules, {len(self.severities)} severities, {len(self.phases)} phases, "
            f"{len(self.roles)} roles, {len(self.rotations)} rotations, {len(self.channels)} channels "
            f"from {len(self.files)} files"
        )


def _schema_problems(doc: Located) -> list[Problem]:
    problems = []
    for error in sorted(_VALIDATOR.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        rule = _rule_name(doc, path)
        message = _explain(error)
        where = ".".join(str(p) for p in path) or "(top level)"
        problems.append(Problem(doc.file, doc.line(path), f"{where}: {message}", rule))
    return problems


def _explain(error: Any) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key(s) {', '.join(map(repr, extra))}; expected one of: {known}"
    if error.validator in ("maxProperties", "minProperties") and isinstance(error.instance, dict):
        return "each action is a mapping with exactly one key, e.g. `- set_severity: 3`"
    if error.validator == "anyOf":
        return f"{error.instance!r} is not valid here"
    message = str(error.message)  # it quotes the offending value, which may be 200,000 items long
    return message if len(message) <= 300 else message[:300] + "..."


def _rule_name(doc: Located, path: tuple[Any, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
        if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], dict):
            name = rules[path[1]].get("name")
            return str(name) if name else f"#{path[1] + 1}"
    return None


def _read(directory: Path) -> tuple[list[Located], list[Problem]]:
    if not directory.is_dir():
        return [], [Problem(str(directory), 0, "rules directory not found")]
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not files:
        return [], [Problem(str(directory), 0, "no .yml files in the rules directory")]
    if len(files) > MAX_FILES:
        return [], [Problem(str(directory), 0, f"{len(files)} rules files; at most {MAX_FILES} are read")]
    docs, problems, total, values = [], [], 0, 0
    for path in files:
        try:
            size = path.stat().st_size
            total += size
            if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                # Refused before parsing: a 5 MB file used to take 52 s and 672 MB to load.
                what = (
                    f"{size:,} bytes" if size > MAX_FILE_BYTES else f"the rules files together exceed {total:,} bytes"
                )
                limits = f"a file may hold {MAX_FILE_BYTES // 1024} KiB, all files {MAX_TOTAL_BYTES // 1024} KiB"
                problems.append(Problem(str(path), 1, f"too large ({what}; {limits})"))
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 0, f"cannot read: {exc}"))
            continue
        doc, found = load(text, str(path), MAX_VALUES - values)
        values += doc.values
        problems += found
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Problem(str(path), 1, "a rules file is a mapping of sections (rules:, roles:, ...)"))
            continue
        schema_problems = _schema_problems(doc)
        problems += schema_problems
        docs.append(doc)
    return docs, problems


def load_rules(directory: Path | str) -> RuleSet:
    """Load and validate every YAML file in `directory`; raise RulesError listing all problems."""
    docs, problems = _read(Path(directory))
    count = sum(len(d.data.get("rules") or []) for d in docs if isinstance(d.data.get("rules"), list))
    if count > MAX_RULES:
        problems.append(Problem(str(directory), 0, f"{count:,} rules; at most {MAX_RULES:,} are accepted"))
    if problems:
        # Merging files whose shape is wrong only produces confusing follow-up errors.
        raise RulesError(problems)
    builder = _Builder()
    for doc in docs:
        builder.add(doc)
    return builder.build()


class _Builder:
    """Merges sections across files and checks every cross-reference."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.where: dict[tuple[str, str], tuple[str, int]] = {}
        self.sections: dict[str, dict[Any, Any]] = {s: {} for s in SECTIONS if s != "phases"}
        self.phases: list[Phase] = []
        self.rule_docs: list[tuple[Located, int, dict[str, Any]]] = []
        self.files: list[str] = []
        self.template_chars = 0
        from .handlers.conditions import RegexBudget  # imported here: handlers import the planner, which imports us

        self.regexes = RegexBudget()

    def _template_room(self, text: str) -> str | None:
        """Why this template may not be compiled (the load's template budget is spent), or None."""
        self.template_chars += len(text)
        if self.template_chars > MAX_TEMPLATE_CHARS:
            return f"templates and comments exceed {MAX_TEMPLATE_CHARS:,} characters in all"
        return None

    def _claim(self, doc: Located, section: str, key: Any, path: tuple[Any, ...]) -> bool:
        first = self.where.get((section, str(key)))
        line = doc.line(path)
        if first:
            self.problems.append(
                Problem(doc.file, line, f"{section} {key!r} is already defined at {first[0]}:{first[1]}")
            )
            return False
        self.where[(section, str(key))] = (doc.file, line)
        return True

    def add(self, doc: Located) -> None:
        self.files.append(doc.file)
        data: dict[str, Any] = doc.data
        for section in SECTIONS:
            if section not in data:
                continue
            if section == "phases":
                if self._claim(doc, "section", "phases", ("phases",)):
                    self._unique(
                        doc, "phase name", "phases", [(p["name"], ("phases", i)) for i, p in enumerate(data["phases"])]
                    )
                    self._unique(
                        doc,
                        "phase label",
                        "phases",
                        [(p["label"], ("phases", i)) for i, p in enumerate(data["phases"])],
                    )
                    for raw in data["phases"]:
                        self.phases.append(
                            Phase(
                                raw["name"],
                                raw["label"],
                                raw.get("title", raw["name"].replace("-", " ").title()),
                                raw.get("guidance", ""),
                                tuple(raw.get("checklist", ())),
                            )
                        )
                continue
            for key, value in data[section].items():
                if section == "severities" and (
                    isinstance(key, bool) or str(key) not in "123456789" or len(str(key)) != 1
                ):
                    self._ref(doc, (section, key), f"severity {key!r}: severity levels are 1 to 9")
                    continue
                if self._claim(doc, section, int(key) if section == "severities" else key, (section, key)):
                    self.sections[section][key] = (doc, value)
        for index, raw in enumerate(data.get("rules", [])):
            if self._claim(doc, "rule", raw["name"], ("rules", index)):
                self.rule_docs.append((doc, index, raw))

    def build(self) -> RuleSet:
        s = self.sections
        severities = {
            int(k): Severity(
                int(k),
                v["label"],
                v["name"],
                v.get("native", "UNKNOWN"),
                v.get("description", ""),
                v.get("update_every_minutes"),
            )
            for k, (_, v) in s["severities"].items()
        }
        labels: dict[str, int] = {}
        for k, (doc, v) in s["severities"].items():
            if v["label"] in labels:
                self._ref(
                    doc,
                    ("severities", k),
                    f"duplicate severity label {v['label']!r} (also severity {labels[v['label']]})",
                )
            labels.setdefault(v["label"], int(k))
        categories = {k: Category(k, v["label"], v.get("description", "")) for k, (_, v) in s["categories"].items()}
        rotations = {k: self._rotation(doc, k, v) for k, (doc, v) in s["rotations"].items()}
        roles = {}
        for k, (doc, v) in s["roles"].items():
            roles[k] = Role(k, v["title"], v["rotation"], tuple(v.get("duties", ())))
            if v["rotation"] not in rotations:
                self._ref(doc, ("roles", k, "rotation"), f"role {k!r} uses unknown rotation {v['rotation']!r}")
        channels = {
            k: ChannelSpec(k, v["kind"], v["target_env"], v.get("secret_env")) for k, (_, v) in s["channels"].items()
        }
        teams = {}
        for k, (doc, v) in s["teams"].items():
            teams[k] = Team(k, v["rotation"], v.get("channel"), v.get("title", k))
            if v["rotation"] not in rotations:
                self._ref(doc, ("teams", k, "rotation"), f"team {k!r} uses unknown rotation {v['rotation']!r}")
            if v.get("channel") and v["channel"] not in channels:
                self._ref(doc, ("teams", k, "channel"), f"team {k!r} uses unknown channel {v['channel']!r}")
        templates = {}
        for k, (doc, v) in s["templates"].items():
            full = self._template_room(v)
            if full:
                self._ref(doc, ("templates", k), f"template {k!r}: {full}")
                continue
            try:
                templates[k] = TEMPLATES.from_string(v)
            except jinja2.TemplateError as exc:
                self._ref(doc, ("templates", k), f"template {k!r}: {_template_error(exc)}")
        settings = {k: v for k, (_, v) in s["settings"].items()}
        ruleset = RuleSet(
            severities=MappingProxyType(severities),
            phases=tuple(self.phases),
            categories=MappingProxyType(categories),
            roles=MappingProxyType(roles),
            rotations=MappingProxyType(rotations),
            templates=MappingProxyType(templates),
            channels=MappingProxyType(channels),
            teams=MappingProxyType(teams),
            settings=MappingProxyType(settings),
            files=tuple(self.files),
        )

        samples = list(sample_drafts(ruleset)) if not self.problems else []
        with step_budget(LOAD_STEPS):
            for k, template in templates.items():
                doc = s["templates"][k][0]
                problem = render_problem(template, samples)
                if problem:
                    self._ref(doc, ("templates", k), f"template {k!r} {problem}")
            rules = [self._rule(doc, index, raw, ruleset, samples) for doc, index, raw in self.rule_docs]
        if self.problems:
            raise RulesError(self.problems)
        return RuleSet(**{**ruleset.__dict__, "rules": tuple(rules)})

    def _rule(self, doc: Located, index: int, raw: dict[str, Any], ruleset: RuleSet, samples: list[Any]) -> Rule:
        """Compile one rule's conditions and check its actions (comments rendered for the samples)."""
        from .handlers.actions import check_action
        from .handlers.conditions import compile_when

        path, name = ("rules", index), raw["name"]
        when, when_problems = compile_when(raw.get("when") or {}, ruleset, self.regexes)
        for message, sub in when_problems:
            self.problems.append(Problem(doc.file, doc.line((*path, "when", *sub)), message, name))
        then = []
        for i, item in enumerate(raw["then"]):
            ((op, arg),) = item.items()
            problem = self._template_room(arg) if op == "comment" else None
            problem = f"comment: {problem}" if problem else check_action(op, arg, ruleset)
            if not problem and op == "comment" and samples:
                found = render_problem(TEMPLATES.from_string(arg), samples)
                problem = f"comment: template {found}" if found else None
            if problem:
                self.problems.append(Problem(doc.file, doc.line((*path, "then", i)), problem, name))
            then.append((op, arg))
        return Rule(name, doc.file, doc.line(path), when, tuple(then), raw.get("description", ""))

    def _unique(self, doc: Located, what: str, section: str, values: list[tuple[Any, tuple[Any, ...]]]) -> None:
        """Report each value of `values` that repeats an earlier one, naming both lines."""
        first: dict[Any, int] = {}
        for value, path in values:
            line = doc.line(path)
            if value in first:
                self._ref(doc, path, f"duplicate {what} {value!r} (first at line {first[value]})")
            else:
                first[value] = line

    def _ref(self, doc: Located, path: tuple[Any, ...], message: str) -> None:
        self.problems.append(Problem(doc.file, doc.line(path), message))

    def _rotation(self, doc: Located, name: str, raw: dict[str, Any]) -> Rotation:
        overrides = []
        try:
            start = date.fromisoformat(raw.get("start", "2026-01-05"))
        except ValueError:
            self._ref(doc, ("rotations", name, "start"), f"rotation {name!r}: start must be YYYY-MM-DD")
            start = date(2026, 1, 5)
        hh, mm = (int(x) for x in raw.get("handover", "09:00").split(":"))
        for i, o in enumerate(raw.get("overrides", ())):
            try:
                overrides.append(Override(o["user"], _when(o["from"]), _when(o["until"])))
            except ValueError:
                self._ref(
                    doc,
                    ("rotations", name, "overrides", i),
                    f"rotation {name!r}: override times must be ISO 8601, e.g. 2026-12-24T09:00Z",
                )
        return Rotation(
            name, tuple(raw["members"]), start, time(hh, mm), int(raw.get("period_days", 7)), tuple(overrides)
        )


def _template_error(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.message} (template line {exc.lineno})"
    return str(exc)


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value


def fingerprint(directory: Path | str) -> tuple[tuple[str, int, int], ...]:
    """What changes when a rules file is added, removed or edited (names, sizes, modification times)."""
    folder = Path(directory)
    try:
        files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    except OSError:
        return ()
