"""``python -m wgan COMMAND [ARGS...]``: train, sample, evaluate, export, view or sweep (see wgan.cli.main)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
