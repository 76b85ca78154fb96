"""Load `rules/`: validate every file, report every mistake with file, line and rule, or refuse the lot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
from croniter import croniter

from .actions import compile_then
from .alerts import build_alerts, read_alerts
from .areas import build_areas, read_areas
from .conditions import RegexBudget, compile_when
from .drills import build_drills, read_drills
from .model import Category, Channel, Phase, Role, Rule, RulesError, RuleSet, Severity, Team
from .paging_load import build_paging
from .read import read_dir
from .rotation import Override, Rotation
from .samples import render_problem, sample_drafts
from .sandbox import step_budget
from .settings import ProcessSettings
from .source import Located, Problem
from .templates import TEMPLATES, template_error

SECTIONS = ("settings", "severities", "phases", "categories", "roles", "rotations", "templates", "channels", "teams")
MAX_RULES = 2_000
MAX_TEMPLATE_CHARS = 50_000  # all templates and `comment:` texts together: compiling costs ~25 us a character
LOAD_STEPS = 300_000  # template work of all the sample renders of one load (see sandbox.MAX_STEPS)


def load_rules(directory: Path | str) -> RuleSet:
    """Load and validate every YAML file in `directory` (and `areas/`); raise RulesError listing all problems."""
    docs, problems = read_dir(Path(directory))
    area_docs, area_problems = read_areas(Path(directory))
    drill_docs, drill_problems = read_drills(Path(directory))
    alerts_doc, alert_problems = read_alerts(Path(directory))
    problems += area_problems + drill_problems + alert_problems
    count = sum(len(d.data.get("rules") or []) for d in docs if isinstance(d.data.get("rules"), list))
    if count > MAX_RULES:
        problems.append(Problem(str(directory), 0, f"{count:,} rules; at most {MAX_RULES:,} are accepted"))
    if problems:
        # Merging files whose shape is wrong only produces confusing follow-up errors.
        raise RulesError(problems)
    builder = _Builder()
    for doc in docs:
        builder.add(doc)
    ruleset = builder.build()
    areas, problems = build_areas(area_docs, ruleset)
    ruleset = replace(ruleset, areas=MappingProxyType(areas))
    drills, drill_problems = build_drills(drill_docs, ruleset)
    alerts, alert_problems = build_alerts(alerts_doc, ruleset)
    paging, paging_problems = build_paging(docs, ruleset)
    if problems + drill_problems + alert_problems + paging_problems:
        raise RulesError(problems + drill_problems + alert_problems + paging_problems)
    return replace(ruleset, drills=MappingProxyType(drills), alerts=alerts, paging=paging)


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
                                raw.get("color", ""),
                                raw.get("description", ""),
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
        """The merged rule set: every cross-reference checked, every template and rule compiled."""
        s = self.sections
        severities = self._severities()
        categories = {
            k: Category(k, v["label"], v.get("description", ""), v.get("color", ""))
            for k, (_, v) in s["categories"].items()
        }
        rotations = {k: self._rotation(doc, k, v) for k, (doc, v) in s["rotations"].items()}
        roles = {}
        for k, (doc, v) in s["roles"].items():
            roles[k] = Role(k, v["title"], v["rotation"], tuple(v.get("duties", ())), v.get("require_training_days"))
            if v["rotation"] not in rotations:
                self._ref(doc, ("roles", k, "rotation"), f"role {k!r} uses unknown rotation {v['rotation']!r}")
        channels = {
            k: Channel(k, v["kind"], v["target_env"], v.get("secret_env")) for k, (_, v) in s["channels"].items()
        }
        teams = {}
        for k, (doc, v) in s["teams"].items():
            teams[k] = Team(k, v["rotation"], v.get("channel"), v.get("title", k))
            if v["rotation"] not in rotations:
                self._ref(doc, ("teams", k, "rotation"), f"team {k!r} uses unknown rotation {v['rotation']!r}")
            if v.get("channel") and v["channel"] not in channels:
                self._ref(doc, ("teams", k, "channel"), f"team {k!r} uses unknown channel {v['channel']!r}")
        templates = self._templates()
        ruleset = RuleSet(
            severities=MappingProxyType(severities),
            phases=tuple(self.phases),
            categories=MappingProxyType(categories),
            roles=MappingProxyType(roles),
            rotations=MappingProxyType(rotations),
            templates=MappingProxyType(templates),
            channels=MappingProxyType(channels),
            teams=MappingProxyType(teams),
            settings=ProcessSettings.from_mapping(self._settings(channels)),
            files=tuple(self.files),
        )
        return self._compile(ruleset, templates)

    def _severities(self) -> dict[int, Severity]:
        """The severities by level; a label two levels share is a problem."""
        severities = {
            int(k): Severity(
                int(k),
                v["label"],
                v["name"],
                v.get("native", "UNKNOWN"),
                v.get("description", ""),
                v.get("update_every_minutes"),
                v.get("color", ""),
                MappingProxyType({k2: float(x) for k2, x in (v.get("targets") or {}).items()}),
            )
            for k, (_, v) in self.sections["severities"].items()
        }
        labels: dict[str, int] = {}
        for k, (doc, v) in self.sections["severities"].items():
            if v["label"] in labels:
                also = f"duplicate severity label {v['label']!r} (also severity {labels[v['label']]})"
                self._ref(doc, ("severities", k), also)
            labels.setdefault(v["label"], int(k))
        return severities

    def _templates(self) -> dict[str, jinja2.Template]:
        """The templates compiled, while the load's template budget lasts."""
        templates = {}
        for k, (doc, v) in self.sections["templates"].items():
            full = self._template_room(v)
            if full:
                self._ref(doc, ("templates", k), f"template {k!r}: {full}")
                continue
            try:
                templates[k] = TEMPLATES.from_string(v)
            except jinja2.TemplateError as exc:
                self._ref(doc, ("templates", k), f"template {k!r}: {template_error(exc)}")
        return templates

    def _settings(self, channels: Mapping[str, Channel]) -> dict[str, Any]:
        """The process settings; the channels they name (training, digest) must exist."""
        s = self.sections
        settings = {k: v for k, (_, v) in s["settings"].items()}
        training = settings.get("training_channel")
        if training is not None and training not in channels:
            at = (s["settings"]["training_channel"][0], ("settings", "training_channel"))
            self._ref(*at, f"training_channel: unknown channel {training!r} (declare it under channels:)")
        if "digest" in s["settings"]:
            digest_doc, digest = s["settings"]["digest"]
            self._digest(digest_doc, digest, channels)
        return settings

    def _compile(self, ruleset: RuleSet, templates: Mapping[str, jinja2.Template]) -> RuleSet:
        """Render each template for the sample incidents and compile the rules; raise RulesError on any problem."""
        samples = list(sample_drafts(ruleset)) if not self.problems else []
        with step_budget(LOAD_STEPS):
            for k, template in templates.items():
                doc = self.sections["templates"][k][0]
                problem = render_problem(template, samples)
                if problem:
                    self._ref(doc, ("templates", k), f"template {k!r} {problem}")
            rules = [self._rule(doc, index, raw, ruleset, samples) for doc, index, raw in self.rule_docs]
        if self.problems:
            raise RulesError(self.problems)
        return RuleSet(**{**ruleset.__dict__, "rules": tuple(rules)})

    def _rule(self, doc: Located, index: int, raw: dict[str, Any], ruleset: RuleSet, samples: list[Any]) -> Rule:
        """Compile one rule's conditions and actions (comments rendered for the samples)."""
        path, name = ("rules", index), raw["name"]
        when, when_problems = compile_when(raw.get("when") or {}, ruleset, self.regexes)
        for message, sub in when_problems:
            self.problems.append(Problem(doc.file, doc.line((*path, "when", *sub)), message, name))
        then = [next(iter(item.items())) for item in raw["then"]]
        actions, then_problems = compile_then(then, ruleset, samples, self._template_room)
        for message, i in then_problems:
            self.problems.append(Problem(doc.file, doc.line((*path, "then", i)), message, name))
        return Rule(name, doc.file, doc.line(path), when, tuple(then), raw.get("description", ""), tuple(actions))

    def _unique(self, doc: Located, what: str, section: str, values: list[tuple[Any, tuple[Any, ...]]]) -> None:
        """Report each value of `values` that repeats an earlier one, naming both lines."""
        first: dict[Any, int] = {}
        for value, path in values:
            line = doc.line(path)
            if value in first:
                self._ref(doc, path, f"duplicate {what} {value!r} (first at line {first[value]})")
            else:
                first[value] = line

    def _digest(self, doc: Located, raw: dict[str, Any], channels: Mapping[str, Any]) -> None:
        """The digest's cron must parse (five fields) and its channels exist."""
        cron = raw.get("cron")
        if cron is not None and (len(cron.split()) != 5 or not croniter.is_valid(cron)):
            self._ref(doc, ("settings", "digest", "cron"), f"digest: cron {cron!r} is not a five-field cron expression")
        for i, name in enumerate(raw.get("channels", ("executives",) if "executives" in channels else ())):
            if name not in channels:
                self._ref(doc, ("settings", "digest", "channels", i), f"digest uses unknown channel {name!r}")

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
                iso = f"rotation {name!r}: override times must be ISO 8601, e.g. 2026-12-24T09:00Z"
                self._ref(doc, ("rotations", name, "overrides", i), iso)
        where = f"{doc.file}:{doc.line(('rotations', name, 'members'))}"
        return Rotation(
            name, tuple(raw["members"]), start, time(hh, mm), int(raw.get("period_days", 7)), tuple(overrides), where
        )


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value
