"""Generate a large, valid rule set: the shipped rules plus N rules with varied conditions and actions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

CATEGORIES = ("security", "availability", "performance", "data-loss", "other")


def generated_rule(i: int) -> dict[str, Any]:
    """Rule number `i`: most never fire on the stories' incident; every hundredth one does (the title says checkout)."""
    name = f"gen-{i:03d}"
    kind = i % 10
    if i % 100 == 9:
        when: dict[str, Any] = {"kind": "issue", "text_matches": r"checkout|payment"}
        then: list[dict[str, Any]] = [{"add_labels": [f"area::payments-{i}"]}]
    elif kind == 0:
        when = {"category": "none", "text_matches": rf"\bsvc{i}\b|component-{i}"}
        then = [{"set_category": CATEGORIES[(i // 10) % len(CATEGORIES)]}]
    elif kind == 1:
        when = {"has_label": f"team::t{i}"}
        then = [{"add_labels": [f"area::a{i}"]}]
    elif kind == 2:
        when = {"severity": [1, 2], "text_matches": rf"db-{i}|shard {i}\b"}
        then = [{"add_labels": [f"db::shard-{i}"]}]
    elif kind == 3:
        when = {"any": [{"has_label": f"customer::c{i}"}, {"title_matches": rf"customer {i}\b"}]}
        then = [{"add_labels": ["customer-impact"]}]
    elif kind == 4:
        when = {"not": {"has_label": f"triaged-{i}"}, "severity": [4], "state": "opened"}
        then = [{"add_labels": [f"triage-{i}"]}]
    elif kind == 5:
        when = {
            "phase": ["mitigation", "remediation"],
            "lacks_label": f"runbook-{i}",
            "text_matches": rf"runbook {i}\b",
        }
        then = [{"add_labels": [f"runbook-{i}"]}]
    elif kind == 6:
        when = {"label_added": f"escalate::{i}"}
        then = [{"remove_labels": [f"quiet::{i}"]}, {"add_labels": [f"loud::{i}"]}]
    elif kind == 7:
        when = {"category": ["security"], "severity": "any", "description_matches": rf"token-{i}\b"}
        then = [{"add_labels": [f"secret-rotation-{i}"]}]
    elif kind == 8:
        when = {"action": ["open", "reopen"], "actor": [f"user{i}", f"bot{i}"]}
        then = [{"add_labels": [f"source::{i}"]}]
    else:
        when = {"category": "none", "any": [{"text_matches": rf"vendor-{i}\b"}, {"has_label": f"vendor::{i}"}]}
        then = [{"set_category": "other"}]
    return {"name": name, "description": f"generated rule {i} (kind {kind})", "when": when, "then": then}


def write_rules_dir(target: Path, shipped: Path, count: int = 500) -> Path:
    """Copy the shipped rules into `target` and add `count` generated rules in one more file."""
    shutil.copytree(shipped, target, dirs_exist_ok=True)
    rules = [generated_rule(i) for i in range(count)]
    text = f"# {count} generated rules for the planning benchmark (bench/rulegen.py).\n"
    text += yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True, width=200)
    (target / "zz-generated.yml").write_text(text)
    return target
