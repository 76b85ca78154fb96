"""`incident-bot paging --simulate <severity>`: print what a page would do now, level by level.

The rules and the simulation are imported when the command runs: the CLI's parser stays light.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..bounds import argument, moment


def add_parsers(sub: Any) -> None:
    """Add `paging` to the CLI's subparsers."""
    p = sub.add_parser("paging", help="what a page of a severity would do now (who, through which contacts, when)")
    p.add_argument("--simulate", metavar="SEVERITY", required=True, help="a severity: 1, severity::1 or its name")
    p.add_argument("--at", type=argument(moment, "--at"), help="resolve the rotations at this time (default: now)")
    p.add_argument("--rules", help="rules directory (default: INCIDENT_BOT_RULES or the shipped rules)")
    p.set_defaults(func=cmd_paging)


def cmd_paging(args: argparse.Namespace) -> int:
    """Print each level of the page a severity starts: 0; a severity the rules do not know: UsageError (exit 2)."""
    # Imported when the command runs: the CLI's parser stays light.
    from ..config import Settings
    from ..rules import RulesError, load_rules
    from .simulate import simulate_paging

    try:
        rules = load_rules(Path(args.rules) if args.rules else Settings.from_env().rules_dir)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    for line in simulate_paging(rules, args.simulate, args.at or datetime.now(UTC)):
        print(line)
    return 0
