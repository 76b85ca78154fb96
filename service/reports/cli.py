"""`incident-bot report`: the report over a window, from the index (`add_parsers` wires it into the CLI)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from service import bounds
from service.errors import UsageError
from service.store.cli import add_scope, duration, open_index_or_exit

DEFAULT_SINCE = "30d"
# Plain strings here: building the CLI must not import SQLAlchemy or the plotting library.
GROUPINGS = ("severity", "category", "area", "month", "source")
FOLLOW_UP_GROUPINGS = ("severity", "area", "team", "owner")  # reports.corrective.GROUPINGS
FORMATS = ("md", "csv", "json", "html")


def moment(text: str) -> datetime:
    """A date (`2026-03-01`, midnight UTC) or an ISO timestamp (UTC when no offset is given) (argparse type)."""
    return bounds.argument(bounds.moment, "time")(text)


def end_text(text: str) -> str:
    """`--to` as given (a bare date includes that day), once it reads as a time in range (argparse type)."""
    moment(text)
    return text


def window(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """[from, to) of the report: `--since` back from now, or `--from`/`--to` (a bare `--to` date includes that day)."""
    if args.start is None and args.end is None:
        return now - (args.since or duration(DEFAULT_SINCE)), now
    end = args.end or now
    if args.end is not None and _is_date(args.raw_to):
        end = args.end + timedelta(days=1)
    start = args.start or end - duration(DEFAULT_SINCE)
    if start >= end:
        raise UsageError(f"incident-bot report: --from ({start:%Y-%m-%d %H:%M}) must be before --to")
    return start, end


def _is_date(text: str | None) -> bool:
    if not text:
        return False
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def add_parsers(sub: Any) -> None:
    """Add `report` to the CLI's subparsers."""
    p = sub.add_parser("report", help="TTA/TTM/TTR, breaches and open incidents over a window, from the index")
    add_scope(p)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--since", type=duration, metavar="30d", help=f"window back from now (default {DEFAULT_SINCE})")
    when.add_argument("--from", dest="start", type=moment, metavar="DATE", help="window start (date or ISO time, UTC)")
    p.add_argument(
        "--to", dest="raw_to", type=end_text, metavar="DATE", help="window end (a date includes that day; default now)"
    )
    p.add_argument(
        "--by",
        choices=sorted(set(GROUPINGS) | set(FOLLOW_UP_GROUPINGS)),
        help="how incidents are grouped (default severity); --follow-ups: severity, area, team or owner",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="md",
        help="output format (--training, --changes and --follow-ups: md, csv or json)",
    )
    p.add_argument("--out", type=Path, metavar="FILE", help="write to this file instead of standard output")
    p.add_argument(
        "--training",
        action="store_true",
        help="the training record instead: who practised which role in drills, who in each rotation never has",
    )
    p.add_argument(
        "--changes",
        action="store_true",
        help="per project and environment: deployments, those that caused incidents, the change-failure rate",
    )
    p.add_argument(
        "--follow-ups",
        action="store_true",
        help="follow-ups (corrective actions) instead: open, overdue, closed, median days to close (md, csv or json)",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Print (or write) the report."""
    if args.training:
        from .training import training_text  # the training report's modules load only when it runs

        return write(training_text(args), args.out)
    if args.changes and args.follow_ups:
        raise UsageError("incident-bot report: --changes or --follow-ups, not both")
    grouping = FOLLOW_UP_GROUPINGS if args.follow_ups else GROUPINGS
    if args.by is not None and args.by not in grouping:
        raise UsageError(f"incident-bot report: --by {args.by} is not one of {', '.join(grouping)} here")
    if args.follow_ups and args.format not in ("md", "csv", "json"):
        raise UsageError("incident-bot report --follow-ups: --format md, csv or json")
    from service.config import Settings
    from service.rules import RulesError, load_rules
    from service.store import open_store

    from .figures import GroupBy, report_from_store
    from .formats import Format, render
    from .targets import targets_from_rules

    args.end = moment(args.raw_to) if args.raw_to else None
    if args.since is not None and args.end is not None:
        raise UsageError("incident-bot report: use --since or --from/--to, not both")
    # Rounded up to the next whole second: [from, to) then holds an incident that started this very second
    # (times are whole seconds), which a truncated now left out.
    now = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    start, end = window(args, now)
    if args.changes:
        from .changes import changes_text  # SQLAlchemy loads only when the report runs

        if args.by or args.format == "html":
            raise UsageError("incident-bot report: --changes comes as md, csv or json, grouped by environment")
        return write(changes_text(start, end, args.format, args.project, args.group), args.out)
    settings = Settings.from_env()
    try:
        rules = load_rules(settings.rules_dir)
    except RulesError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    store = open_index_or_exit(open_store)
    if args.follow_ups:
        scope = {"project": args.project, "group": args.group}
        return write(follow_ups_text(store, rules, start, end, args.by or "severity", args.format, **scope), args.out)
    report = report_from_store(
        store,
        start=start,
        end=end,
        by=GroupBy(args.by or "severity"),
        targets=targets_from_rules(rules),
        now=now,
        project=args.project,
        group=args.group,
    )
    return write(render(report, Format(args.format)), args.out)


def write(text: str, out: Path | None) -> int:
    """The report to `out`, or to standard output."""
    if out:
        out.write_text(text, encoding="utf-8")
        print(f"report written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def follow_ups_text(
    store: Any,
    rules: Any,
    start: datetime,
    end: datetime,
    by: str,
    fmt: str,
    *,
    project: str | None = None,
    group: str | None = None,
) -> str:
    """`report --follow-ups`: the follow-ups' figures over [start, end) (reports/corrective.py), of the incidents of
    `--project` or `--group` when given."""
    from service.store.corrective import with_incidents

    from .corrective import figures, render

    rows = with_incidents(store.engine, project=project, group=group)
    return render(figures(rows, start, end, by, rules), fmt, by)
