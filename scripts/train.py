#!/usr/bin/env python3
"""Train a WGAN: python scripts/train.py --config configs/mnist.yaml [key=value ...]

The same as the installed command ``wgan-train`` (``pip install -e .``).
"""

import sys

from wgan import startup

startup.install()       # before torch is imported: an early Ctrl-C or SIGTERM is one line (wgan/startup.py)

from wgan.cli import train_command as main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
