#!/usr/bin/env python3
"""Sample images from a trained generator: python scripts/sample.py [MODEL] --n 64 --seed 0 --out grid.png

The same as the installed command ``wgan-sample`` (``pip install -e .``).
"""

import sys

from wgan.cli import sample_command as main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
