"""``python -m wgan COMMAND [ARGS...]``: train, sample, evaluate, export, view or sweep (see wgan.cli.main)."""

import sys

from . import startup

if __name__ == "__main__":
    startup.install()   # before torch is imported (wgan/startup.py)
    from .cli import main
    sys.exit(main())
