"""The package's messages go to the ``logging`` logger ``"wgan"``.

In a notebook or script, ``train(cfg)`` reports through it: one summary line, resume notes and
warnings at INFO, the resolved config at DEBUG. Silence it, or show the config too, with::

    import logging
    logging.getLogger("wgan").setLevel(logging.WARNING)   # quiet
    logging.getLogger("wgan").setLevel(logging.DEBUG)     # also the 50-line resolved config

Unless the application configured the logger first (gave it a level or a handler), the first
trainer gives it a handler that prints the bare message to the current ``sys.stdout`` at INFO
and stops propagation (so a root handler does not print each line twice). To route the messages
through your own handlers instead, configure ``logging.getLogger("wgan")`` before training.
The command-line tools print their lines directly (``Trainer(echo=print)``), as before.
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "wgan"


class _StdoutHandler(logging.Handler):
    """Prints to whatever ``sys.stdout`` is at the time (a notebook's, or pytest's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stdout)
        except Exception:
            self.handleError(record)


def get_logger() -> logging.Logger:
    """The ``"wgan"`` logger, given its default handler and INFO level if nobody configured it."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers and logger.level == logging.NOTSET:
        logger.addHandler(_StdoutHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
