"""Generated rules files: `load_rules` either loads them or raises RulesError with file:line problems, nothing else."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.rules import RulesError, load_rules
from service.rules.schema import ACTIONS, CONDITIONS
from service.rules.source import load
from tests.conftest import ROOT
from tests.rules.helpers import MINIMAL

SHIPPED = sorted((ROOT / "rules").glob("*.yml"))
SHIPPED_DRILLS = sorted((ROOT / "rules" / "drills").glob("*.yml"))
DRILL_WORDS = [
    *("drill", "title", "description", "area", "category", "severity", "injects", "phases", "after_minutes"),
    *("text", "phase", "by_minutes", "security", "reliability", "availability", "mitigation", "identification"),
]
WORDS = [
    *("settings", "severities", "phases", "categories", "roles", "rotations", "templates", "channels", "teams"),
    *("rules", "name", "when", "then", "label", "title", "members", "period_days", "update_every_minutes"),
    *("any", "not", "checklist", "rotation", "kind", "target_env", "incident-manager", "eoc", "identification"),
    *CONDITIONS,
    *ACTIONS,
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.sampled_from(DRILL_WORDS),
    st.sampled_from(["{{ incident.title }}", "{{ incident.titel }}", "{% for x in y %}", "^(a+)+$", "(", "a{2000}"]),
    st.text(max_size=20),
)
KEYS = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(DRILL_WORDS), st.integers(min_value=-3, max_value=12), st.text(max_size=8)
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=40,
)
YAMLISH = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n\t ,?%@`09.~<\\")), max_size=300)
# The suite runs a few hundred examples (~15 s); INCIDENT_BOT_FUZZ_SCALE=20 runs twenty times as many.
SCALE = int(os.environ.get("INCIDENT_BOT_FUZZ_SCALE", "1"))


def check(name: str, text: str, beside: str = "nothing") -> None:
    """Write `text` as <name> beside nothing, a minimal rule set or the shipped one; load: RulesError or success.

    `tree` is the whole shipped folder (areas and drills too): a drill file may only be judged beside it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if beside == "tree":
            shutil.copytree(ROOT / "rules", folder, dirs_exist_ok=True)
        elif beside == "shipped":
            for path in SHIPPED:
                shutil.copy(path, folder / path.name)
        elif beside == "minimal":
            (folder / "base.yml").write_text(MINIMAL)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_rules(folder)
        except RulesError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.file.startswith(tmp) and isinstance(problem.line, int) and problem.line >= 0
                assert str(problem).startswith(f"{problem.file}:{problem.line}: ")


@settings(max_examples=300 * SCALE, deadline=None)
@given(YAMLISH)
def test_random_yaml_like_text(text: str) -> None:
    """Random YAML punctuation: a problem list with file and line, never another exception."""
    check("zz-fuzz.yml", text)


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(WORDS[:10]), STRUCTURES, max_size=4), st.booleans())
def test_random_structures_dumped_to_yaml(data: dict[str, Any], flow: bool) -> None:
    """Random structures built from the format's own words, dumped as YAML, beside a minimal valid rule set."""
    check("zz-fuzz.yml", yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True), beside="minimal")


@settings(max_examples=60 * SCALE, deadline=None)
@given(st.sampled_from(SHIPPED), st.data())
def test_truncated_and_mutated_shipped_files(path: Path, data: st.DataObject) -> None:
    """A shipped file cut short or with a slice replaced by junk replaces the real one."""
    text = path.read_text()
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 40)))
    junk = data.draw(st.one_of(st.just(""), YAMLISH.filter(lambda s: len(s) < 30)))
    mutated = data.draw(st.sampled_from([text[:start], text[:start] + junk + text[end:]]))
    check(path.name, mutated, beside="shipped")


@settings(max_examples=150 * SCALE, deadline=None)
@given(YAMLISH)
def test_random_yaml_like_drill_file(text: str) -> None:
    """A drill file of random YAML punctuation beside the shipped rules: file:line problems, never a traceback."""
    check("drills/zz-fuzz.yml", text, beside="tree")


DRILL_SHAPES = st.fixed_dictionaries(
    {},
    optional={
        "title": SCALARS,
        "description": SCALARS,
        "area": SCALARS,
        "category": SCALARS,
        "severity": SCALARS,
        "injects": st.one_of(STRUCTURES, st.lists(st.dictionaries(st.sampled_from(DRILL_WORDS), SCALARS), max_size=3)),
        "phases": st.one_of(STRUCTURES, st.lists(st.dictionaries(st.sampled_from(DRILL_WORDS), SCALARS), max_size=3)),
        "extra": STRUCTURES,
    },
)


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(DRILL_SHAPES.map(lambda d: {"drill": d}), STRUCTURES), st.booleans())
def test_random_drill_structures(data: Any, flow: bool) -> None:
    """Hostile drill scenarios (wrong types, negative or huge minutes, unknown names and keys): file:line only."""
    check("drills/zz-fuzz.yml", yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True), beside="tree")


@settings(max_examples=60 * SCALE, deadline=None)
@given(st.sampled_from(SHIPPED_DRILLS), st.data())
def test_truncated_and_mutated_shipped_drills(path: Path, data: st.DataObject) -> None:
    """A shipped drill cut short or with a slice replaced by junk replaces the real one."""
    text = path.read_text()
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 40)))
    junk = data.draw(st.one_of(st.just(""), YAMLISH.filter(lambda s: len(s) < 30)))
    mutated = data.draw(st.sampled_from([text[:start], text[:start] + junk + text[end:]]))
    check(f"drills/{path.name}", mutated, beside="tree")


@settings(max_examples=200 * SCALE, deadline=None)
@given(STRUCTURES, st.booleans())
def test_bounded_composer_reads_what_pyyaml_reads(data: Any, flow: bool) -> None:
    """Within bounds, the bounded composer (service/rules/source.py) reads a dumped structure as safe_load does."""
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    located, problems = load(text, "f.yml")
    if not problems:  # refused only for non-finite numbers
        assert located.data == yaml.safe_load(text)
    else:
        assert all("finite" in p.message for p in problems)
