"""`incident-bot handbook`: write the handbook generated from the rules, or check a committed copy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add `handbook` to the CLI's subparsers."""
    p = sub.add_parser("handbook", help="write the incident handbook generated from the rules (Markdown or HTML)")
    p.add_argument("--out", default="handbook", metavar="DIR", help="where to write the pages (default: handbook)")
    p.add_argument("--format", choices=("md", "html"), default="md", help="md (a wiki, default) or html")
    p.add_argument("--check", metavar="DIR", help="exit 1 when the copy in DIR differs from what the rules make")
    p.add_argument("--rules", help="rules directory (default: INCIDENT_BOT_RULES or the shipped rules)")
    p.set_defaults(func=cmd_handbook)


def cmd_handbook(args: argparse.Namespace) -> int:
    """Write the pages, or compare a committed copy (for a CI job): 0 up to date, 1 stale, 2 bad rules."""
    # Imported when the command runs: the CLI's parser stays light.
    from service.config import Settings
    from service.rules import RulesError, load_rules

    # Jinja and the pages, likewise imported only now.
    from .handbook import stale, write

    settings = Settings.from_env()
    try:
        rules = load_rules(Path(args.rules) if args.rules else settings.rules_dir)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    if args.check:
        problems = stale(rules, Path(args.check), bot=settings.bot_username)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"handbook out of date: run `incident-bot handbook --out {args.check}` and commit", file=sys.stderr)
            return 1
        print(f"handbook in {args.check} is up to date")
        return 0
    written = write(rules, Path(args.out), args.format, bot=settings.bot_username)
    print(f"wrote {len(written)} pages to {args.out}")
    return 0
