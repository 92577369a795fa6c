#!/usr/bin/env python3
"""Train a grid of runs: python scripts/sweep.py --config configs/mnist.yaml --out runs/sweep_lr train.lr=5e-5,1e-4

The same as the installed command ``wgan-sweep`` (``pip install -e .``); see README "Sweeps".
"""

import sys

from wgan.cli import sweep_command as main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
