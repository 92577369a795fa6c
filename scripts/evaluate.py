#!/usr/bin/env python3
"""Evaluate a generator: python scripts/evaluate.py MODEL_OR_RUN --metrics fid,kid,modes --n 10000"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from wgan.metrics.evaluate import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
