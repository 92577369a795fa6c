#!/usr/bin/env python3
"""Train a WGAN: python scripts/train.py --config configs/mnist.yaml [key=value ...]

The same as the installed command ``wgan-train`` (``pip install -e .``).
"""

import sys

from wgan.cli import train_command as main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
