"""Time and peak memory of loading hostile rules directories (issue 7 items 13-15), one fresh process per case.

    .venv/bin/python -m bench.rules_bounds                  # this checkout
    .venv/bin/python -m bench.rules_bounds --code /tmp/old  # another checkout (e.g. `git archive` of an old commit)

Each case runs in its own interpreter (so peak RSS is the case's own, interpreter included) under a
4 GB address-space limit and a time limit, and prints: case, wall and CPU seconds of the load (wall
time depends on what else the machine runs; CPU time is the process's own), peak MB, and the outcome
(the first problem, or what went wrong). Nothing is asserted: the tests assert outcomes, this measures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = """\
severities:
  3: {label: "severity::3", name: medium}
phases:
  - {name: identification, label: "incident::identification"}
roles:
  eoc: {title: EOC, rotation: eoc}
rotations:
  eoc: {members: [carol]}
"""
LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


def _rule(when: str) -> str:
    return f"rules:\n  - name: r\n    when: {when}\n    then: [{{close_issue: true}}]\n"


def _laughs_in_rule() -> str:
    text = "x0: &x0 [" + ",".join(['"l"'] * 30) + "]\n"
    for i in range(1, 7):
        text += f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 30) + "]\n"
    return text + _rule("{has_label: *x6}")


def _macros() -> str:
    body = "".join(
        f"{{% macro m{i}() %}}" + ("x" if i == 0 else f"{{{{ m{i - 1}() }}}}{{{{ m{i - 1}() }}}}") + "{% endmacro %}"
        for i in range(31)
    )
    return body + "{{ m30() }}"


def _many_rules() -> str:
    rule = "  - {name: r%05d, when: {text_matches: 'svc-%05d'}, then: [{add_labels: [x%05d]}]}\n"
    return "rules:\n" + "".join(rule % (i, i, i) for i in range(60_000))


CASES: dict[str, dict[str, str]] = {
    "billion laughs, top level": {"x.yml": LAUGHS},
    "billion laughs, inside a rule": {"x.yml": _laughs_in_rule()},
    "template 'x' * 4000000000": {"x.yml": "templates:\n  t: \"{{ 'x' * 4000000000 }}\"\n"},
    "template nested range loops": {
        "x.yml": "templates:\n  t: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'\n"
    },
    "5 MB file, 60,000 rules": {"x.yml": _many_rules()},
    "recursive anchor a: &a [*a]": {"x.yml": "a: &a [*a]\n"},
    "20,000-deep flow nesting": {"x.yml": "x: " + "[" * 20_000 + "]" * 20_000 + "\n"},
    "regex a{99999999999999999999}": {"x.yml": _rule("{title_matches: 'a{99999999999999999999}'}")},
    "regex 3,000 nested groups": {"x.yml": _rule("{title_matches: '" + "(" * 3000 + "a" + ")" * 3000 + "'}")},
    "template .titel for .title": {"x.yml": "templates:\n  t: '{{ incident.titel }}'\n"},
    "update_every_minutes: .inf": {"x.yml": "severities:\n  4: {label: s4, name: low, update_every_minutes: .inf}\n"},
    "template macros calling macros 2**30 times": {"x.yml": "templates:\n  t: '" + _macros() + "'\n"},
    "4 files x 30,000 values": {f"v{i}.yml": f"x{i}: [" + ",".join(["a"] * 30_000) + "]\n" for i in range(4)},
    "500 expensive regexes ([^a]{999})": {
        "x.yml": _rule("{any: [" + ", ".join(["{title_matches: '[^a]{999}'}"] * 500) + "]}")
    },
}


def _references() -> dict[str, dict[str, str]]:
    """Valid rule sets: the shipped one, and the largest the bounds accept (shipped + 1,950 generated rules)."""
    import yaml

    from bench.rulegen import generated_rule

    shipped = {p.name: p.read_text() for p in (ROOT / "rules").glob("*.yml")}
    large = dict(shipped)
    for part in range(2):  # two files: one would pass the 256 KiB bound
        rules = [generated_rule(i) for i in range(part * 975, (part + 1) * 975)]
        large[f"zz-generated-{part}.yml"] = yaml.safe_dump({"rules": rules}, sort_keys=False, width=200)
    return {"(valid) shipped rules": shipped, "(valid) shipped + 1,950 generated rules": large}


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from service.rules import RulesError, load_rules
start, cpu = time.perf_counter(), time.process_time()
try:
    rules = load_rules(Path(sys.argv[2]))
    outcome = "loaded: " + rules.summary()
    if sys.argv[3] == "plan":
        from service.events import parse_event
        from service.incident import IncidentState, Issue
        from service.handlers.planner import plan_event
        from datetime import UTC, datetime
        data = json.loads((Path(sys.argv[1]) / "tests/fixtures/issue.open.incident.json").read_text())
        data["object_attributes"]["title"] = "a" * 10_000 + "!"
        event = parse_event(data, delivery_id="bench")
        start, cpu = time.perf_counter(), time.process_time()
        plan = plan_event(event, IncidentState(issue=Issue(1, event.iid, title=event.title, labels=event.labels)),
                          rules, datetime.now(UTC))
        fired = any(a.rule == "evil" for a in plan.actions)
        outcome = "planned; 'evil' fired" if fired else "planned; 'evil' did not fire"
except RulesError as exc:
    outcome = f"RulesError, {len(exc.problems)} problem(s): " + str(exc.problems[0]).split("/")[-1][:110]
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:100]}"
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}))
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run_case(code: Path, files: dict[str, str], mode: str, timeout: float) -> dict[str, object]:
    """Load one rules directory in a fresh interpreter; its time, peak memory and outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        if not any(name.endswith("settings.yml") for name in files):  # the valid references bring their own
            (Path(tmp) / "base.yml").write_text(BASE)
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        begin = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(code), tmp, mode],
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=_limit,
                cwd=code,
            )
        except subprocess.TimeoutExpired:
            return {
                "seconds": time.perf_counter() - begin,
                "cpu": float("nan"),
                "peak_mb": float("nan"),
                "outcome": "still running: killed",
            }
        if proc.returncode != 0 or not proc.stdout.strip():
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:100]
            return {
                "seconds": time.perf_counter() - begin,
                "cpu": float("nan"),
                "peak_mb": float("nan"),
                "outcome": f"crashed: {tail}",
            }
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _row(name: str, result: dict[str, object]) -> None:
    wall, cpu, peak = (float(result[k]) for k in ("seconds", "cpu", "peak_mb"))  # type: ignore[arg-type]
    print(f"{name:<40} {wall:>7.2f} {cpu:>7.2f} {peak:>8.0f}  {result['outcome']}", flush=True)


def main() -> int:
    """Print one line per hostile case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose service/ is measured")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, str], str]] = [(name, files, "load") for name, files in CASES.items()]
    catastrophic = _rule("{title_matches: '^(a+)+$'}").replace("name: r", "name: evil")
    rows.append(("plan: ^(a+)+$ vs 10,000-char title", {"x.yml": catastrophic}, "plan"))
    print(f"{'case':<40} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}  outcome")
    for name, files, mode in rows:
        result = run_case(args.code, files, mode, args.timeout)
        _row(name, result)
    for name, files in _references().items():
        result = run_case(args.code, files, "load", args.timeout)
        _row(name, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
