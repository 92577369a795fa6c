#!/usr/bin/env python3
"""Evaluate a generator: python scripts/evaluate.py MODEL_OR_RUN --metrics fid,kid,modes --n 10000

The same as the installed command ``wgan-evaluate`` (``pip install -e .``).
"""

import sys

from wgan.cli import evaluate_command as main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
