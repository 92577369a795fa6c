"""Signals during start-up: a Ctrl-C or SIGTERM before training begins is one line, not a traceback.

Python's own SIGINT handler raises ``KeyboardInterrupt`` wherever the main thread is: during the
seconds of ``import torch`` that is a traceback, or, where a library's import catches it, a
half-imported numpy (``module 'numpy' has no attribute 'multiply'``) or a signal swallowed and a
run trained to the end; SIGTERM's default kills the process silently. So the command lines call
``install`` first thing (scripts/train.py and ``python -m wgan`` before anything imports torch:
this module and ``wgan/__init__.py`` import only the standard library). The handler raises
nothing: it records the signal, and ``check`` (called between the start-up stages: after the
imports, the config, the run directory check, the data) prints one ``error:`` line and exits
with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). A second signal exits at once
(same line). The trainer's own handlers take over when training starts (finish the step,
checkpoint, exit 3) and pick up a signal recorded here that no check saw.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: int | None = None
_installed = False


def exit_code(signum: int) -> int:
    """128 + the signal number, the shell's convention: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signum)


def _line(signum: int) -> str:
    return (f"error: stopped by {signal.Signals(signum).name} (signal {int(signum)}) while starting, before "
            f"training began; nothing was trained or checkpointed; run the same command again")


def _record(signum, frame):
    global _pending
    if _pending is not None:            # a second signal: stop now, still with one line
        print(_line(_pending), file=sys.stderr, flush=True)
        os._exit(exit_code(_pending))
    _pending = signum


def install() -> None:
    """Record SIGINT and SIGTERM until ``check`` (only in the main thread, where handlers can be set)."""
    global _installed
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _record)
        _installed = True


def pending() -> int | None:
    """The signal recorded since ``install`` and not yet acted on, else None; clears it."""
    global _pending
    found, _pending = _pending, None
    return found


def check() -> None:
    """Exit with one line if a signal arrived since ``install``."""
    if _pending is not None:
        signum = _pending
        for sig in SIGNALS:             # exiting: a further signal adds no second line
            signal.signal(sig, signal.SIG_IGN)
        print(_line(signum), file=sys.stderr, flush=True)
        raise SystemExit(exit_code(signum))


def uninstall() -> None:
    """Python's default handlers again (after the command's work is done)."""
    global _installed
    if _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _installed = False
