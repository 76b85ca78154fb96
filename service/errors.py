"""The one error a setting, a rules file or a command's argument raises; only `service/cli.py` makes it an exit."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration the process cannot use, said in words a person can act on (`incident-bot` exits 2).

    Library code raises this, never `SystemExit`: under gunicorn, in a job or in a test, whoever called it
    decides; `service.cli.main` prints the message on stderr and exits 2.
    """


class UsageError(ConfigError):
    """A command's arguments refused (a window that ends before it starts); the same exit 2 as argparse's."""
