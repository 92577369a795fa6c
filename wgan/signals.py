"""A clean stop on SIGINT/SIGTERM for long work: the first signal asks, the second insists.

The trainer (finish the step, checkpoint, exit 3) and the sweep (stop after the current run) both
need the same protocol; only what the first signal does differs, so that is the one argument.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable, Optional

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal:
    """While active, the first SIGINT/SIGTERM calls ``on_first(signum)`` and returns (the caller
    stops at its next safe point); a second restores the default handler and raises
    KeyboardInterrupt, so a user can always stop at once.

    ``pending``, if given, returns a signal that arrived before this was installed (see
    ``wgan.startup``); it is handled as a first signal on entry. Handlers can only be set in the
    main thread; elsewhere this does nothing.
    """

    def __init__(self, on_first: Callable[[int], None], pending: Optional[Callable[[], Optional[int]]] = None):
        self.on_first, self.pending = on_first, pending
        self.signum: Optional[int] = None
        self.previous: dict = {}

    def _handler(self, signum, frame):
        if self.signum is not None:
            signal.signal(signum, signal.SIG_DFL)
            raise KeyboardInterrupt
        self.signum = signum
        self.on_first(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handler)
            early = self.pending() if self.pending is not None else None
            if early is not None:
                self._handler(early, None)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
