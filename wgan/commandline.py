"""What every wgan command line shares: argparse with one-line errors and the ``error:`` line.

Its own module so that ``cli.py`` (which starts the sweep lazily) and ``sweep.py`` can both use it
without importing each other.
"""

from __future__ import annotations

import argparse
import os
import sys

from .config import escape_controls

EXIT_BAD_INPUT = 2        # bad config, missing data, unusable run directory or checkpoints
EXIT_INTERRUPTED = 3      # stopped by SIGINT/SIGTERM after a checkpoint (a run or a sweep)
EXIT_RUNS_FAILED = 5      # a sweep went through, but at least one run failed (see its summary)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print ``error: MESSAGE`` (one line, control characters escaped) on stderr; return ``code``."""
    print(f"error: {escape_controls(message)}", file=sys.stderr)
    return code


class UsageError(Exception):
    """argparse's complaint about the command line, as one line."""


def invoked_as(script: str, command: str | None = None) -> str:
    """The program name for ``script``'s usage line as the user started it: ``wgan-train`` for the
    console script, ``python -m wgan train`` for the module (``command``, default the script's
    name without .py), else the script's file name."""
    first = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if first.startswith("wgan-"):
        return first
    if first == "__main__.py" and os.path.basename(os.path.dirname(sys.argv[0])) == "wgan":
        return f"python -m wgan {command or script.removesuffix('.py')}"
    return script


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing its usage block and exiting; ``prog``
    (a script's file name) is shown as the user invoked it (``invoked_as``)."""

    def __init__(self, *args, prog: str | None = None, **kwargs):
        super().__init__(*args, prog=invoked_as(prog) if prog else None, **kwargs)

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
