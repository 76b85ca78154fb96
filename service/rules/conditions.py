"""The closed set of rule conditions (`when`): compiled at load, checked on the plan's `facts.Facts` (a Draft)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import re2

if TYPE_CHECKING:
    from .facts import Facts
    from .model import RuleSet

Compiled = tuple[tuple[str, Any], ...]

# Rule regexes run on titles and descriptions that anyone who can open an issue writes, in
# the worker that serves every incident. Python's backtracking `re` takes exponential time on
# patterns like `^(a+)+$` (a 10,000-character title stalls the worker for good), and a time
# limit (the `regex` package's `timeout=`) would make a plan depend on how busy the machine
# is. RE2 matches in time linear in the text, always, so a rule gives the same answer on any
# machine; the price is no lookaround and no backreferences, refused at load with file:line.
MAX_PATTERN = 1_000  # characters; RE2's compiled program is bounded by its max_mem too
MAX_REPEAT = 1_000  # RE2's own limit; larger counts would silently become literal text
_RE2 = re2.Options()
_RE2.case_sensitive = False
_RE2.never_capture = True  # conditions only ask "does it match": no submatch work
_RE2.log_errors = False  # errors are reported as Problems, not on stderr
_RE2.max_mem = 1 << 20  # bounds one compile (~1.5 ms at worst) and one program (~40,000 instructions)
MAX_REGEXES = 5_000
MAX_PROGRAM = 4_000_000  # RE2 instructions in all: ~0.3 s of compiling
FAILED_COST = 30_000  # a compile that fails for size cost about as much as this many instructions
_REPEAT = re.compile(r"(?<!\\)(?:\\\\)*\{(\d+)(?:,(\d*))?\}")  # {n} or {n,m} not preceded by a lone backslash


def _as_set(value: Any) -> frozenset[Any]:
    return frozenset(value) if isinstance(value, list) else frozenset([value])


def _level_is(arg: Any, level: int | None) -> bool:
    if arg == "none":
        return level is None
    if arg == "any":
        return level is not None
    return level in _as_set(arg)


def _name_is(arg: Any, name: str | None) -> bool:
    if arg == "none":
        return name is None
    return name in _as_set(arg)


def _entered(arg: Any, d: Facts) -> bool:
    phase = d.phase()
    if phase is None or phase == d.before("phase"):
        return False
    return arg == "any" or phase in _as_set(arg)


def _severity_delta(d: Facts) -> int:
    """Negative when more severe than the severity last handled (escalation), positive when less."""
    before, now = d.before("severity"), d.severity()
    if not d.before("declared") or before is None or now is None:
        return 0
    return now - before


CHECKS: dict[str, Callable[[Any, Facts], bool]] = {
    "kind": lambda arg, d: d.event.kind.value == arg,
    "action": lambda arg, d: d.event.action in _as_set(arg),
    "new_incident": lambda arg, d: (not d.before("declared")) == arg,
    "severity": lambda arg, d: _level_is(arg, d.severity()),
    "severity_changed": lambda arg, d: (_severity_delta(d) != 0) == arg,
    "escalated": lambda arg, d: (_severity_delta(d) < 0) == arg,
    "deescalated": lambda arg, d: (_severity_delta(d) > 0) == arg,
    "phase": lambda arg, d: _name_is(arg, d.phase()),
    "phase_entered": lambda arg, d: _entered(arg, d),
    "category": lambda arg, d: _name_is(arg, d.category()),
    "category_changed": lambda arg, d: (bool(d.before("declared")) and d.category() != d.before("category")) == arg,
    "state": lambda arg, d: d.issue_state() == arg,
    "has_label": lambda arg, d: _as_set(arg) <= d.labels,
    "lacks_label": lambda arg, d: not (_as_set(arg) & d.labels),
    "label_added": lambda arg, d: bool(_as_set(arg) & d.event.labels_added),
    "label_removed": lambda arg, d: bool(_as_set(arg) & d.event.labels_removed),
    "title_matches": lambda arg, d: bool(arg.search(d.issue.title)),
    "description_matches": lambda arg, d: bool(arg.search(d.issue.description)),
    "text_matches": lambda arg, d: bool(arg.search(d.issue.title) or arg.search(d.issue.description)),
    "actor": lambda arg, d: d.event.actor.username in _as_set(arg),
    "confidential": lambda arg, d: d.issue.confidential == arg,
    "role_staffed": lambda arg, d: all(r in d.memory.get("staffed", {}) for r in _as_set(arg)),
}
REGEX_KEYS = frozenset({"title_matches", "description_matches", "text_matches"})


def matches(when: Compiled, draft: Facts) -> bool:
    """True when every condition holds (`any`: one of the nested maps; `not`: the nested map fails)."""
    for op, arg in when:
        if op == "any":
            if not any(matches(sub, draft) for sub in arg):
                return False
        elif op == "not":
            if matches(arg, draft):
                return False
        elif not CHECKS[op](arg, draft):
            return False
    return True


@dataclass
class RegexBudget:
    """What compiling all the regexes of one rules load may cost: a count and RE2 program size."""

    patterns: int = MAX_REGEXES
    program: int = MAX_PROGRAM

    def spend(self, text: str) -> tuple[Any, str | None]:
        """compile_regex, charged to this budget; refused without compiling once the budget is spent."""
        if self.patterns <= 0 or self.program <= 0:
            return None, f"the rules' regular expressions exceed {MAX_REGEXES:,} or {MAX_PROGRAM:,} RE2 instructions"
        self.patterns -= 1
        pattern, problem = compile_regex(text)
        self.program -= pattern.programsize if pattern is not None else FAILED_COST
        return pattern, problem


def compile_when(
    raw: dict[str, Any], rules: RuleSet, budget: RegexBudget | None = None
) -> tuple[Compiled, list[tuple[str, tuple[Any, ...]]]]:
    """Compile a `when` map (regexes, references checked); returns (compiled, [(problem, subpath)])."""
    budget = budget if budget is not None else RegexBudget()
    problems: list[tuple[str, tuple[Any, ...]]] = []
    out: list[tuple[str, Any]] = []
    for op, arg in raw.items():
        if op == "any":
            subs = []
            for i, item in enumerate(arg):
                compiled, found = compile_when(item, rules, budget)
                subs.append(compiled)
                problems += [(m, ("any", i, *p)) for m, p in found]
            out.append((op, tuple(subs)))
        elif op == "not":
            compiled, found = compile_when(arg, rules, budget)
            problems += [(m, ("not", *p)) for m, p in found]
            out.append((op, compiled))
        elif op in REGEX_KEYS:
            pattern, problem = budget.spend(arg)
            if problem:
                problems.append((f"{op}: {problem}", (op,)))
            else:
                out.append((op, pattern))
        else:
            problem = _reference(op, arg, rules)
            if problem:
                problems.append((problem, (op,)))
            out.append((op, arg))
    return tuple(out), problems


def compile_regex(text: str) -> tuple[Any, str | None]:
    """A case-insensitive RE2 pattern, or (None, why it cannot be used)."""
    shown = repr(text if len(text) <= 60 else text[:60] + "...")
    if len(text) > MAX_PATTERN:
        return None, f"regular expression longer than {MAX_PATTERN:,} characters ({len(text):,})"
    for match in _REPEAT.finditer(text):
        counts = [int(n) for n in match.groups() if n]
        if any(n > MAX_REPEAT for n in counts):
            return None, f"invalid regular expression {shown}: repetition count over {MAX_REPEAT:,}"
    try:
        return re2.compile(text, _RE2), None
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return None, f"invalid regular expression {shown}: {reason} (RE2 syntax: no lookaround or backreferences)"


def _reference(op: str, arg: Any, rules: RuleSet) -> str | None:
    values = [v for v in _as_set(arg) if v not in ("none", "any")]
    if op == "severity":
        unknown = [v for v in values if v not in rules.severities]
        kind = "severity"
    elif op in ("phase", "phase_entered"):
        unknown = [v for v in values if rules.phase(v) is None]
        kind = "phase"
    elif op == "category":
        unknown = [v for v in values if v not in rules.categories]
        kind = "category"
    elif op == "role_staffed":
        unknown = [v for v in values if v not in rules.roles]
        kind = "role"
    else:
        return None
    return f"{op}: unknown {kind} {', '.join(map(repr, unknown))}" if unknown else None
