#!/usr/bin/env python3
"""Export a trained generator as a pickle-free .safetensors file.

python scripts/export.py RUN_DIR_OR_CHECKPOINT OUT [--fp16]
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from wgan.export import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
