"""``python -m wgan COMMAND [ARGS...]``: train, sample, evaluate, export or view (see wgan.cli.main)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
