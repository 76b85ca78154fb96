"""Hostile rules files: every one is refused with file:line problems, never a hang, a crash or a late failure.

Speed is measured in bench/rules_bounds.py, not asserted here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.events import parse_event
from service.handlers.planner import plan_event
from service.incident import IncidentState, Issue
from service.rules import RulesError, load_rules
from tests.conftest import NOW, ROOT, payload
from tests.rules.helpers import MINIMAL, write

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


def refused(tmp_path: Path, **files: str) -> list[str]:
    """Load MINIMAL plus `files`; return the problems as `file:line: message` strings."""
    write(tmp_path, base=MINIMAL, **files)
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path)
    for problem in info.value.problems:
        assert problem.file.startswith(str(tmp_path)) and problem.line >= 0
    return [str(p) for p in info.value.problems]


def has(found: list[str], where: str, *words: str) -> bool:
    """One problem starts with `where` and contains every word."""
    return any(p.startswith(where) and all(w in p for w in words) for p in found)


# Item 13: bounded size, alias expansion, template work.


def test_billion_laughs_at_top_level(tmp_path: Path) -> None:
    """Nine levels of nine aliases (a billion strings) are refused, naming the line where the bound ran out."""
    found = refused(tmp_path, rules=LAUGHS)
    assert has(found, f"{tmp_path}/rules.yml:", "values in the rules files (after expanding aliases)")


def test_billion_laughs_inside_a_rule(tmp_path: Path) -> None:
    """Aliases exploding inside a rule's `when` are refused the same way."""
    text = "x: &x [" + ",".join(['"l"'] * 30) + "]\n"
    for i in range(1, 7):
        text += f"x{i}: &x{i} [" + ",".join([f"*x{i - 1 if i > 1 else ''}"] * 30) + "]\n"
    text = text.replace("*x0", "*x")
    text += "rules:\n  - name: boom\n    when: {has_label: *x6}\n    then: [{close_issue: true}]\n"
    found = refused(tmp_path, rules=text)
    assert has(found, f"{tmp_path}/rules.yml:", "after expanding aliases")


def test_values_are_counted_across_files(tmp_path: Path) -> None:
    """Four files of 30,000 values each, every one under the size bound, are refused together."""
    for i in range(4):
        (tmp_path / f"v{i}.yml").write_text(f"x{i}: [" + ",".join(["a"] * 30_000) + "]\n")
    found = refused(tmp_path)
    assert has(found, f"{tmp_path}/v3.yml:1: more than 100,000 values in the rules files"), found


def test_reused_anchors_within_bounds_still_load(tmp_path: Path) -> None:
    """Anchors and aliases used as intended keep working."""
    text = (
        "rules:\n  - name: a\n    when: &w {severity: 3, state: opened}\n    then: [{close_issue: true}]\n"
        "  - name: b\n    when: *w\n    then: [{close_issue: true}]\n"
    )
    write(tmp_path, base=MINIMAL, rules=text)
    assert [dict(r.when) for r in load_rules(tmp_path).rules] == [{"severity": 3, "state": "opened"}] * 2


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 4000000000 }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% set s = 'x' * 100000 %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}",
        "{{ 'x'.center(4000000000) }}",
        "{{ 'x' | center(4000000000) }}",
        "{{ ('x' * 100000).replace('x', 'x' * 100000) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ 7 ** 999999 }}",
        "{{ lipsum(100000) }}",
        "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(1) }}",
        "{% set s = 'x' * 100000 %}{{ [s, s, s] | join }}",
        "{% set s = 'x\n' * 50000 %}{{ s | indent(1000) }}",
    ],
)
def test_template_work_is_bounded(tmp_path: Path, template: str) -> None:
    """Templates that would take gigabytes or hours (at compile time or render time) are refused at load."""
    found = refused(tmp_path, t=yaml.safe_dump({"templates": {"huge": template}}, width=1_000_000))
    assert has(found, f"{tmp_path}/t.yml:2: template 'huge'"), found


def test_inline_comment_template_is_bounded(tmp_path: Path) -> None:
    """A `comment:` action's template gets the same bounds, reported at its rule and line."""
    found = refused(tmp_path, rules="rules:\n  - name: c\n    then:\n      - comment: \"{{ 'x' * 4000000000 }}\"\n")
    assert has(found, f"{tmp_path}/rules.yml:4: rule 'c': comment: template")


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A 5 MB file of 60,000 rules is refused by size at its first line."""
    rule = "  - {name: r%05d, when: {text_matches: 'svc-%05d'}, then: [{add_labels: [x%05d]}]}\n"
    text = "rules:\n" + "".join(rule % (i, i, i) for i in range(60_000))
    assert len(text) > 5_000_000
    found = refused(tmp_path, rules=text)
    assert found == [
        f"{tmp_path}/rules.yml:1: too large ({len(text):,} bytes; a file may hold 256 KiB, all files 1024 KiB)"
    ]


def test_too_many_rules_across_files(tmp_path: Path) -> None:
    """Small files that add up to more rules than the bound are refused with the count."""
    for part in range(3):
        rules = "".join(f"  - {{name: p{part}-{i}, then: [{{close_issue: true}}]}}\n" for i in range(700))
        (tmp_path / f"part{part}.yml").write_text("rules:\n" + rules)
    found = refused(tmp_path)
    assert has(found, f"{tmp_path}:0: 2,100 rules; at most 2,000")


def test_too_long_template_source(tmp_path: Path) -> None:
    """A template longer than the source bound is refused (its compile work grows with it)."""
    found = refused(tmp_path, t="templates:\n  long: '" + "x " * 6_000 + "'\n")
    assert has(found, f"{tmp_path}/t.yml:2: template 'long'", "longer than 10,000 characters")


def test_templates_together_are_bounded(tmp_path: Path) -> None:
    """Many templates, each within bounds, are refused once they add up past the load's template budget."""
    templates = "".join(f"  t{i}: '" + "{{ incident.title }}" * 450 + "'\n" for i in range(8))
    found = refused(tmp_path, t="templates:\n" + templates)
    assert has(found, f"{tmp_path}/t.yml:", "templates and comments exceed 50,000 characters in all"), found


def test_regexes_together_are_bounded(tmp_path: Path) -> None:
    """Thousands of expensive regexes are refused once they exceed the load's compile budget."""
    conditions = ", ".join(["{title_matches: '[^a]{999}'}"] * 500)
    found = refused(
        tmp_path,
        rules=f"rules:\n  - name: many\n    when: {{any: [{conditions}]}}\n    then: [{{close_issue: true}}]\n",
    )
    assert has(found, f"{tmp_path}/rules.yml:3: rule 'many'", "4,000,000 RE2 instructions"), found


@pytest.mark.parametrize(
    "template",
    [
        "{{ a" + ".b" * 5000 + " }}",
        "{% if a %}" * 600 + "{% endif %}" * 600,
        "{{ " + "(" * 1500 + "1" + ")" * 1500 + " }}",
        "".join(
            "{% macro m"
            + str(i)
            + "() %}"
            + ("x" if i == 0 else f"{{{{ m{i - 1}() }}}}{{{{ m{i - 1}() }}}}")
            + "{% endmacro %}"
            for i in range(31)
        )
        + "{{ m30() }}",
        "{% set l = [1] * 200000 %}{{ l | map('string') | list | length }}",
    ],
)
def test_template_nesting_and_call_explosions(tmp_path: Path, template: str) -> None:
    """Nesting past Jinja's recursive parser, and macros calling macros 2**30 times, are load errors."""
    found = refused(tmp_path, t=yaml.safe_dump({"templates": {"deep": template}}, width=1_000_000))
    assert has(found, f"{tmp_path}/t.yml:", "template 'deep'"), found


# Item 14: no tracebacks.


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: &a [*a]\n", 1, ("recursive alias *a",)),
        ("a: &a {b: {c: *a}}\n", 1, ("recursive alias *a",)),
        ("rules:\n  - &r {name: x, then: [*r]}\n", 2, ("recursive alias *r",)),
        ("x: " + "[" * 20_000 + "]" * 20_000 + "\n", 1, ("nest",)),
        ("x: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n", 1, ("nested more than 64 levels",)),
        ("x:\n" + "".join("  " * i + "- \n" for i in range(1, 200)), None, ("nest",)),
        ("x: " + "9" * 5000 + "\n", 1, ("invalid value",)),
        ("x: !!python/object/apply:os.system [ls]\n", 1, ("tags are not allowed",)),
        ("x: !!python/name:os.system ''\n", 1, ("constructor",)),
        ("a: 1\n---\nb: 2\n", 2, ("one YAML document",)),
        ("x: *nope\n", 1, ("alias",)),
        ("base: &b {x: 1}\nr: {<<: *b}\n", 2, ("merge keys",)),
        ("? [a, b]\n: 1\n", 1, ("mapping keys must be plain values",)),
        ("\x00\x01\x02", 1, ("YAML",)),
    ],
)
def test_yaml_that_used_to_raise(tmp_path: Path, text: str, line: int | None, words: tuple[str, ...]) -> None:
    """Recursive anchors, deep nesting, huge numbers, tags: a file:line problem, never an exception."""
    found = refused(tmp_path, x=text)
    assert has(found, f"{tmp_path}/x.yml:{'' if line is None else line}", *words), found


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("a{99999999999999999999}", ("invalid regular expression", "repetition count over 1,000")),
        ("(" * 3000 + "a" + ")" * 3000, ("longer than 1,000 characters",)),
        ("(" * 450 + "a" + ")" * 450 + "{1000}{1000}", ("invalid regular expression",)),
        ("x{2,5000}", ("repetition count over 1,000",)),
        ("(?=lookahead)", ("invalid regular expression", "RE2 syntax")),
        (r"(a)\1", ("invalid regular expression", "RE2 syntax")),
        ("(unclosed", ("invalid regular expression",)),
    ],
)
def test_regex_that_cannot_compile(tmp_path: Path, pattern: str, words: tuple[str, ...]) -> None:
    """Regexes Python could not compile (or RE2 refuses) are file:line problems of their rule."""
    quoted = pattern.replace("'", "''")
    found = refused(
        tmp_path,
        rules=f"rules:\n  - name: re\n    when: {{title_matches: '{quoted}'}}\n    then: [{{close_issue: true}}]\n",
    )
    assert has(found, f"{tmp_path}/rules.yml:3: rule 're': title_matches:", *words), found


# Item 15: nothing accepted fails later.


@pytest.mark.parametrize(
    "template",
    ["{{ incident.titel }}", "{{ nobody }}", "{{ roles.eoc.usr }}", "{{ 1 / 0 }}", "{{ incident.title.__class__ }}"],
)
def test_template_that_fails_to_render_is_a_load_error(tmp_path: Path, template: str) -> None:
    """A template that would fail when a delivery renders it is refused at load with its file and line."""
    found = refused(tmp_path, t=f"# comment\ntemplates:\n  bad: '{template}'\n")
    assert has(found, f"{tmp_path}/t.yml:3: template 'bad' fails to render for a sample incident"), found


def test_template_fails_only_for_some_incidents(tmp_path: Path) -> None:
    """A mistake in a branch taken only once roles are staffed is still found (several sample incidents)."""
    template = "{% if roles %}{{ roles.eoc.usr }}{% else %}none{% endif %}"
    found = refused(tmp_path, t=f"templates:\n  bad: '{template}'\n")
    assert has(found, f"{tmp_path}/t.yml:2: template 'bad'", "usr"), found


def test_inline_comment_with_misspelt_name(tmp_path: Path) -> None:
    """`comment:` text naming `.titel` is refused at its rule and line."""
    found = refused(tmp_path, rules="rules:\n  - name: c\n    then:\n      - comment: 'Seen: {{ incident.titel }}'\n")
    assert has(found, f"{tmp_path}/rules.yml:4: rule 'c': comment: template fails to render", "titel"), found


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("rotations:\n  r: {members: [a], period_days: 0}\n", 2, ("period_days",)),
        ("rotations:\n  r: {members: [a], period_days: 99999999999}\n", 2, ("period_days",)),
        ("rotations:\n  r: {members: [a], period_days: .inf}\n", 2, ("finite",)),
        ("severities:\n  4: {label: s4, name: low, update_every_minutes: .inf}\n", 2, ("finite",)),
        ("severities:\n  4: {label: s4, name: low, update_every_minutes: .nan}\n", 2, ("finite",)),
        ("severities:\n  4: {label: s4, name: low, update_every_minutes: 0}\n", 2, ("update_every_minutes",)),
        ("severities:\n  4: {label: s4, name: low, update_every_minutes: 1e300}\n", 2, ("update_every_minutes",)),
        ("severities:\n  0: {label: s0, name: zero}\n", 2, ("severity levels are 1 to 9",)),
        ("severities:\n  10: {label: s10, name: ten}\n", 2, ("severity levels are 1 to 9",)),
        ("severities:\n  true: {label: st, name: truth}\n", 2, ("severity levels are 1 to 9",)),
        ("severities:\n  '3': {label: s3b, name: again}\n", 2, ("severities 3 is already defined",)),
        ("severities:\n  5: {label: 'severity::3', name: same-label}\n", 2, ("duplicate severity label",)),
        ("rules:\n  - name: r\n    then: [{remind: {role: eoc, every_minutes: .inf}}]\n", 3, ("finite",)),
        ("rules:\n  - name: r\n    then: [{remind: {role: eoc, every_minutes: 1e12}}]\n", 3, ("every_minutes",)),
    ],
)
def test_numbers_out_of_range(tmp_path: Path, text: str, line: int, words: tuple[str, ...]) -> None:
    """Periods, cadences and severity levels outside their range are refused with file and line."""
    found = refused(tmp_path, x=text)
    assert has(found, f"{tmp_path}/x.yml:{line}", *words), found


def test_duplicate_phase_names_and_labels(tmp_path: Path) -> None:
    """Two phases with one name, or one label, are reported as duplicates naming the first."""
    base = MINIMAL.replace('phases:\n  - {name: identification, label: "incident::identification"}\n', "")
    (tmp_path / "base.yml").write_text(base)
    (tmp_path / "phases.yml").write_text(
        "phases:\n  - {name: identification, label: 'incident::a'}\n  - {name: mitigation, label: 'incident::a'}\n"
        "  - {name: identification, label: 'incident::c'}\n"
    )
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path)
    found = [str(p) for p in info.value.problems]
    assert f"{tmp_path}/phases.yml:3: duplicate phase label 'incident::a' (first at line 2)" in found
    assert f"{tmp_path}/phases.yml:4: duplicate phase name 'identification' (first at line 2)" in found


def test_catastrophic_regex_against_a_long_title_does_not_stall_planning(tmp_path: Path) -> None:
    """`^(a+)+$` against a 10,000-character title answers (no match) instead of backtracking for ages."""
    write(
        tmp_path,
        base=MINIMAL,
        rules="rules:\n  - name: evil\n    when: {title_matches: '^(a+)+$'}\n    then: [{add_labels: [matched]}]\n"
        "  - name: fine\n    when: {title_matches: '^a+!$'}\n    then: [{add_labels: [long]}]\n",
    )
    rules = load_rules(tmp_path)
    data: dict[str, Any] = payload("issue.open.incident")
    data["object_attributes"]["title"] = "a" * 10_000 + "!"
    event = parse_event(data, delivery_id="d")
    issue = Issue(project_id=1, iid=event.iid, title=event.title, labels=event.labels)
    plan = plan_event(event, IncidentState(issue=issue), rules, NOW)
    rules_fired = {a.rule for a in plan.actions}
    assert "evil" not in rules_fired and "fine" in rules_fired


def test_check_rules_prints_every_hostile_problem(tmp_path: Path) -> None:
    """`incident-bot check-rules` on hostile files: exit 1, one file:line line per problem, no traceback."""
    write(
        tmp_path,
        base=MINIMAL,
        laughs=LAUGHS,
        recursive="a: &a [*a]\n",
        deep="x: " + "[" * 20_000 + "]" * 20_000 + "\n",
    )
    first = check_rules(tmp_path)
    assert first.returncode == 1 and "Traceback" not in first.stderr, first.stderr
    assert first.stderr.startswith("invalid rules: 3 errors\n")
    for where in ("laughs.yml:6:", "recursive.yml:1:", "deep.yml:1:"):
        assert f"{tmp_path}/{where}" in first.stderr, first.stderr
    # Files that parse are then checked as a whole: regexes and templates, every problem at once.
    for name in ("laughs", "recursive", "deep"):
        (tmp_path / f"{name}.yml").unlink()
    write(
        tmp_path,
        regex="rules:\n  - name: re\n    when: {title_matches: 'a{99999999999999999999}'}\n"
        "    then: [{close_issue: true}]\n",
        template="templates:\n  big: \"{{ 'x' * 4000000000 }}\"\n  typo: '{{ incident.titel }}'\n",
    )
    second = check_rules(tmp_path)
    assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr
    assert second.stderr.startswith("invalid rules: 3 errors\n")
    for where in ("regex.yml:3: rule 're'", "template.yml:2: template 'big'", "template.yml:3: template 'typo'"):
        assert f"{tmp_path}/{where}" in second.stderr, second.stderr


def check_rules(directory: Path) -> subprocess.CompletedProcess[str]:
    """Run `incident-bot check-rules DIRECTORY` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "check-rules", str(directory)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,  # a hang guard only; the time is measured in bench/rules_bounds.py
    )
