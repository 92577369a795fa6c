"""What every wgan command line shares: argparse with one-line errors and the ``error:`` line.

Its own module so that ``cli.py`` (which starts the sweep lazily) and ``sweep.py`` can both use it
without importing each other.
"""

from __future__ import annotations

import argparse
import sys

from .config import escape_controls

EXIT_BAD_INPUT = 2        # bad config, missing data, unusable run directory or checkpoints


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print ``error: MESSAGE`` (one line, control characters escaped) on stderr; return ``code``."""
    print(f"error: {escape_controls(message)}", file=sys.stderr)
    return code


class UsageError(Exception):
    """argparse's complaint about the command line, as one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing its usage block and exiting."""

    def error(self, message):
        raise UsageError(message)


def parse(parser: argparse.ArgumentParser, argv, fix: str):
    """``(args, None)``, or ``(None, exit code)`` when the command line is refused (one ``error:``
    line ending in ``; fix``) or ``--help`` was printed (exit 0)."""
    try:
        return parser.parse_args(argv), None
    except UsageError as err:
        return None, fail(f"{err}; {fix}")
    except SystemExit as done:  # --help
        return None, done.code if isinstance(done.code, int) else 0
