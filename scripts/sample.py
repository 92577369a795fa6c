#!/usr/bin/env python3
"""Sample images from a trained generator: python scripts/sample.py [MODEL] --n 64 --seed 0 --out grid.png"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from wgan.sampling import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
