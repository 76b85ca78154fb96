"""What the operations tests share: the bot's public URL, its queues and clock, a command run as the CLI runs it."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from service.gitlab.ops import Namespace
from service.ops.commands import add_parsers
from service.ops.reconcile import Reconciler

URL = "https://bot.example.com/webhook"
OPS_QUEUE = "incident-bot-ops"
QUEUE = "incident-bot"
CLOCK = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def run(*argv: str) -> int:
    """Parse and run one command as `incident-bot` would."""
    parser = argparse.ArgumentParser(prog="incident-bot")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def project(reconciler: Reconciler) -> Namespace:
    return reconciler.api.namespace("projects", "group/project")
