#!/usr/bin/env python3
"""Export a trained generator as a pickle-free .safetensors file.

python scripts/export.py RUN_DIR_OR_CHECKPOINT OUT [--fp16]

The same as the installed command ``wgan-export`` (``pip install -e .``).
"""

import sys

from wgan.cli import export_command as main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
