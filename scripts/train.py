#!/usr/bin/env python3
"""Train a WGAN: python scripts/train.py --config configs/mnist.yaml [key=value ...]"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from wgan.cli import train_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(train_main(sys.argv[1:]))
